/* Read-only ZIP archive reader for PyTorch checkpoints (torch.save writes stored, uncompressed
 * entries). Works on a caller-owned buffer (a mapped file); every offset and size is bounds-checked
 * without overflow; ZIP64 records are understood; compressed or encrypted entries are refused. */
#ifndef UFO_CONVERT_ZIP_H
#define UFO_CONVERT_ZIP_H

#include <glib.h>
#include <stdint.h>

typedef struct {
  char *name;
  const uint8_t *data; /* into the archive buffer */
  uint64_t size;
  uint32_t crc32;
  gboolean crc_checked;
} UfoZipEntry;

typedef struct {
  GPtrArray *entries; /* UfoZipEntry* in central-directory order */
} UfoZip;

UfoZip *ufo_zip_open(const uint8_t *buf, size_t len, GError **error);
void ufo_zip_free(UfoZip *zip);
/* Exact name; NULL when absent. */
UfoZipEntry *ufo_zip_find(UfoZip *zip, const char *name);
/* Verifies the entry's CRC-32 (once); error names the entry. */
gboolean ufo_zip_check_crc(UfoZipEntry *entry, GError **error);
uint32_t ufo_crc32(const uint8_t *data, uint64_t len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoZip, ufo_zip_free)

#endif
