/* CUDA emulation: what the scheduler (sched.cc) and the runtime (runtime.cc) share. */
#ifndef UFO_CUDA_EMU_PRIV_H
#define UFO_CUDA_EMU_PRIV_H

#include "cuda_emu.h"

#include <string>

namespace ufo_emu
{
namespace detail
{

/* The calling host thread's last error (cudaGetLastError), as the real runtime keeps it. */
void set_last_error(cudaError_t e);
/* A kernel failed: cudaErrorLaunchFailure, whose string is the report, for the next
 * cudaGetLastError / cudaPeekAtLastError / cudaStreamSynchronize / cudaDeviceSynchronize. */
void set_kernel_failure(const std::string &report);
/* Dynamic shared memory a launch of key may use (48 KiB, or the cudaFuncSetAttribute opt-in). */
size_t dyn_smem_limit(const void *key);
/* Shared memory per block: static + dynamic without the opt-in attribute; static + the
 * attribute's value with it (the emulated device: sm_90's sharedMemPerBlockOptin). */
static const size_t SMEM_DEFAULT = 48 * 1024;
static const size_t SMEM_OPTIN = 232448;
/* The cudaFuncAttributeMaxDynamicSharedMemorySize set for key: TRUE and *value, or FALSE. */
bool dyn_smem_attribute(const void *key, size_t *value);
bool stream_valid(cudaStream_t s);
/* The order seed and the number of the next launch (both reset by set_seed). */
uint64_t seed_value();
uint64_t next_launch_number();
bool racecheck_env();
/* Appends recorded work to stream's capture (capturing(stream) was true): cudaSuccess, or
 * cudaErrorStreamCaptureInvalidated when the capture already failed. */
cudaError_t record_node(cudaStream_t stream, std::function<void()> work);

} /* namespace detail */
} /* namespace ufo_emu */

#endif
