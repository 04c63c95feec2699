/* The decode downloads at most 8 bytes per live row and step (the selected token and its
 * probability; the token features stay on the backend, decode.h keep_feat), for detection,
 * instance and semantic segmentation alike. Segmentation downloads only its results (seg §2.6-§3.6
 * through the mask ops, backend.h mask_*): on the tiny planted fixtures, the bytes a run copies
 * from the backend to the host beyond the decode's are exactly the class map (semantic: 2 bytes a
 * pixel) or the instance results (per valid grid its bit mask and foreground sum/count, plus the
 * kept masks' probabilities cropped to their boxes); the mean-layer feature map stays on the
 * backend.
 * --device=cuda runs the same on the GPU (suite cuda-gpu), --device=cuda-emu on the emulated
 * CUDA backend (suite cuda-emu). */
#include "ufo/ufo.h"
#include "backend_by_name.h"
#include "fixture.h"
#include "model/config.h"

#include <string.h>

static UfoDevice device = UFO_DEVICE_CPU;

static uint8_t *synthetic(int w, int h)
{
  uint8_t *px = g_malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        px[((size_t)y * w + x) * 3 + c] = (uint8_t)((x * (3 + c) + y * (5 + 2 * c) + 85 * c) & 255);
  return px;
}

static void run(const char *fixture, UfoTask task, int W, int H)
{
  GError *error = NULL;
  g_autoptr(UfoModel) model = ufo_model_new_random("tiny", 0, &error);
  g_autoptr(UfoFixture) fx = ufo_fixture_open(fixture, &error);
  g_assert_no_error(error);
  int ndim;
  int64_t shape[8];
  g_assert_true(ufo_fixture_shape(fx, "plan.tokens", &ndim, shape, &error));
  g_autofree int32_t *tokens = ufo_fixture_i32(fx, "plan.tokens", NULL, &error);
  g_autofree float *margin = ufo_fixture_f32(fx, "plan.margin", NULL, &error);
  g_assert_no_error(error);
  UfoPlantedPlan plan = {tokens, margin, (int)shape[0], (int)shape[1]};
  UfoSessionOptions opts = {device, 0, 0};
  g_autoptr(UfoSession) s = ufo_session_new(model, &opts, &error);
  g_assert_no_error(error);
  g_autofree uint8_t *px = synthetic(W, H);
  UfoImage img = {UFO_PIXEL_RGB, W, H, (size_t)W * 3, px};
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = task;
  req.plan = &plan;
  UfoResult *res = NULL;
  g_assert_true(ufo_session_run(s, &img, &req, &res, &error));
  g_assert_no_error(error);
  /* the backend asked for, and its device clock: CUDA stages get device times (0 in the
   * emulation, which makes no timing claims), the CPU none (-1) */
  const char *be_name = ufo_session_get_backend_name(s);
  if (device == UFO_DEVICE_CUDA) {
    g_assert_true(g_str_has_prefix(be_name, "cuda"));
    g_assert_cmpfloat(res->device_ms_image, >=, 0);
    g_assert_cmpfloat(res->device_ms_decode, >=, 0);
    g_assert_cmpfloat(res->device_ms_preprocess, >=, 0);
  } else {
    g_assert_cmpstr(be_name, ==, "cpu");
    g_assert_cmpfloat(res->device_ms_image, ==, -1);
  }
  UfoConfig conf;
  g_assert_true(ufo_config_builtin("tiny", &conf, &error));
  const int hp = conf.tasks[task].input_size / conf.patch_size;
  const uint64_t fmap = (uint64_t)hp * hp * conf.embed_dim * sizeof(float);
  /* the decode: at most the token and its probability per live row and step (≤ n_seq rows) */
  g_assert_cmpint(res->n_decode_steps, >, 0);
  g_assert_cmpuint(res->decode_bytes_down, <=, (uint64_t)8 * shape[0] * res->n_decode_steps);
  g_test_message("%s: %" G_GUINT64_FORMAT " bytes down in %d decode steps (%d sequences)", fixture,
                 res->decode_bytes_down, res->n_decode_steps, (int)shape[0]);
  const uint64_t post = res->bytes_down - res->decode_bytes_down;
  if (task == UFO_TASK_DETECTION) {
    ufo_result_free(res);
    return;
  }
  if (task == UFO_TASK_SEMANTIC) {
    g_assert_nonnull(res->semantic);
    g_assert_cmpuint(post, ==, (uint64_t)W * H * sizeof(uint16_t));
  } else {
    uint64_t crops = 0;
    for (int i = 0; i < res->n_objects; i++)
      crops += (uint64_t)res->objects[i].mask->width * res->objects[i].mask->height * 4;
    const uint64_t per = (uint64_t)H * ((W + 63) / 64) * 8 + 16;
    g_assert_cmpuint(post, >=, crops);
    g_assert_cmpuint((post - crops) % per, ==, 0);
    g_assert_cmpuint((post - crops) / per, >=, (uint64_t)res->n_objects);
    g_assert_cmpuint((post - crops) / per, <=, (uint64_t)shape[0]);
    g_test_message("%d objects: %" G_GUINT64_FORMAT " valid grids' bit masks, %" G_GUINT64_FORMAT
                   " bytes of cropped probabilities",
                   res->n_objects, (post - crops) / per, crops);
  }
  g_test_message("%s %dx%d: %" G_GUINT64_FORMAT " bytes down per frame (decode %" G_GUINT64_FORMAT
                 ", results %" G_GUINT64_FORMAT "); the %" G_GUINT64_FORMAT
                 "-byte feature map stays on the backend",
                 fixture, W, H, res->bytes_down, res->decode_bytes_down, post, fmap);
  ufo_result_free(res);
}

static void test_detection(void)
{
  run("tiny-detection-planted", UFO_TASK_DETECTION, 301, 197);
}

static void test_instance(void)
{
  run("tiny-instance-planted", UFO_TASK_INSTANCE, 301, 197);
}

static void test_semantic(void)
{
  run("tiny-semantic-planted", UFO_TASK_SEMANTIC, 301, 197);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  const char *dev = "cpu";
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--device=")) {
      dev = argv[i] + strlen("--device=");
      if (!ufo_test_session_device(dev, &device))
        return 2;
    }
  g_autofree char *a = g_strdup_printf("/session/seg-download/%s/instance", dev);
  g_autofree char *b = g_strdup_printf("/session/seg-download/%s/semantic", dev);
  g_autofree char *d = g_strdup_printf("/session/seg-download/%s/detection-decode", dev);
  g_test_add_func(d, test_detection);
  g_test_add_func(a, test_instance);
  g_test_add_func(b, test_semantic);
  return g_test_run();
}
