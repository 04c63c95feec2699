/* ZIP reader (zip.h). Record layouts: PKWARE APPNOTE.TXT §4.3 (local header, central directory,
 * end of central directory, ZIP64 end record and locator, ZIP64 extra field 0x0001). */
#include "zip.h"

#include "ufo/ufo.h"

#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

static uint16_t rd16(const uint8_t *p)
{
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
  return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* [off, off + n) lies inside a buffer of len bytes. */
static gboolean in_bounds(uint64_t off, uint64_t n, uint64_t len)
{
  return off <= len && n <= len - off;
}

static gboolean zip_error(GError **error, const char *msg, const char *name)
{
  g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "zip archive: %s%s%s%s", msg,
              name ? " (entry '" : "", name ? name : "", name ? "')" : "");
  return FALSE;
}

static void entry_free(gpointer p)
{
  UfoZipEntry *e = p;
  g_free(e->name);
  g_free(e);
}

void ufo_zip_free(UfoZip *zip)
{
  if (!zip)
    return;
  g_ptr_array_unref(zip->entries);
  g_free(zip);
}

UfoZipEntry *ufo_zip_find(UfoZip *zip, const char *name)
{
  for (guint i = 0; i < zip->entries->len; i++) {
    UfoZipEntry *e = g_ptr_array_index(zip->entries, i);
    if (strcmp(e->name, name) == 0)
      return e;
  }
  return NULL;
}

uint32_t ufo_crc32(const uint8_t *data, uint64_t len)
{
  static uint32_t table[256];
  static gsize init = 0;
  if (g_once_init_enter(&init)) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1; /* reflected polynomial 0x04C11DB7 */
      table[i] = c;
    }
    g_once_init_leave(&init, 1);
  }
  uint32_t c = 0xFFFFFFFFu;
  for (uint64_t i = 0; i < len; i++)
    c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

gboolean ufo_zip_check_crc(UfoZipEntry *e, GError **error)
{
  if (e->crc_checked)
    return TRUE;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (ufo_crc32(e->data, e->size) != e->crc32)
    return zip_error(error, "CRC-32 mismatch, the file is corrupted", e->name);
#else
  (void)ufo_crc32(e->data, e->size); /* -Dfuzzing=true: mutated entries get past the CRC */
#endif
  e->crc_checked = TRUE;
  return TRUE;
}

/* Locates the central directory: (offset, size, count), ZIP64 aware. */
static gboolean find_directory(const uint8_t *buf, uint64_t len, uint64_t *cd_off,
                               uint64_t *cd_size, uint64_t *count, GError **error)
{
  if (len < 22)
    return zip_error(error, "file too short for an end-of-central-directory record", NULL);
  /* the EOCD is the last 22 bytes plus a comment of at most 65535 bytes */
  uint64_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
  uint64_t eocd = UINT64_MAX;
  for (uint64_t p = len - 22 + 1; p-- > lo;) {
    if (rd32(buf + p) == SIG_EOCD && p + 22 + rd16(buf + p + 20) == len) {
      eocd = p;
      break;
    }
  }
  if (eocd == UINT64_MAX)
    return zip_error(error, "no end-of-central-directory record (not a zip file or truncated)",
                     NULL);
  const uint8_t *e = buf + eocd;
  if (rd16(e + 4) != 0 || rd16(e + 6) != 0)
    return zip_error(error, "multi-disk archives are not supported", NULL);
  *count = rd16(e + 10);
  *cd_size = rd32(e + 12);
  *cd_off = rd32(e + 16);
  if (*count == 0xFFFF || *cd_size == 0xFFFFFFFFu || *cd_off == 0xFFFFFFFFu) {
    if (eocd < 20 || rd32(buf + eocd - 20) != SIG_LOCATOR64)
      return zip_error(error, "ZIP64 sizes without a ZIP64 locator", NULL);
    uint64_t z = rd64(buf + eocd - 20 + 8);
    if (!in_bounds(z, 56, len) || rd32(buf + z) != SIG_EOCD64)
      return zip_error(error, "bad ZIP64 end-of-central-directory record", NULL);
    *count = rd64(buf + z + 32);
    *cd_size = rd64(buf + z + 40);
    *cd_off = rd64(buf + z + 48);
  }
  if (!in_bounds(*cd_off, *cd_size, len))
    return zip_error(error, "central directory lies outside the file (truncated?)", NULL);
  if (*count > *cd_size / 46)
    return zip_error(error, "entry count does not fit the central directory", NULL);
  return TRUE;
}

/* Reads the ZIP64 extra field (id 0x0001) values that replace saturated 32-bit ones. */
static gboolean read_zip64_extra(const uint8_t *x, uint32_t xlen, uint64_t *usize, uint64_t *csize,
                                 uint64_t *off)
{
  uint32_t p = 0;
  while (p + 4 <= xlen) {
    uint16_t id = rd16(x + p), n = rd16(x + p + 2);
    if (p + 4 + n > xlen)
      return FALSE;
    if (id == 0x0001) {
      uint32_t q = p + 4, end = p + 4 + n;
      uint64_t *fields[3] = {usize, csize, off};
      for (int i = 0; i < 3; i++) {
        if (*fields[i] != 0xFFFFFFFFu)
          continue;
        if (q + 8 > end)
          return FALSE;
        *fields[i] = rd64(x + q);
        q += 8;
      }
      return TRUE;
    }
    p += 4 + n;
  }
  return *usize != 0xFFFFFFFFu && *csize != 0xFFFFFFFFu && *off != 0xFFFFFFFFu;
}

UfoZip *ufo_zip_open(const uint8_t *buf, size_t len, GError **error)
{
  uint64_t cd_off, cd_size, count;
  if (!find_directory(buf, len, &cd_off, &cd_size, &count, error))
    return NULL;
  g_autoptr(UfoZip) zip = g_new0(UfoZip, 1);
  zip->entries = g_ptr_array_new_with_free_func(entry_free);
  uint64_t p = cd_off, end = cd_off + cd_size;
  for (uint64_t i = 0; i < count; i++) {
    if (!in_bounds(p, 46, end) || rd32(buf + p) != SIG_CENTRAL) {
      zip_error(error, "bad central directory record", NULL);
      return NULL;
    }
    const uint8_t *c = buf + p;
    uint16_t flags = rd16(c + 8), method = rd16(c + 10);
    uint32_t crc = rd32(c + 16);
    uint64_t csize = rd32(c + 20), usize = rd32(c + 24), off = rd32(c + 42);
    uint32_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
    if (!in_bounds(p + 46, (uint64_t)nlen + xlen + clen, end)) {
      zip_error(error, "central directory record runs past its end", NULL);
      return NULL;
    }
    g_autofree char *name = g_strndup((const char *)c + 46, nlen);
    if (strlen(name) != nlen || !g_utf8_validate(name, -1, NULL)) {
      zip_error(error, "entry name holds a NUL byte or invalid UTF-8", NULL);
      return NULL;
    }
    if (!read_zip64_extra(c + 46 + nlen, xlen, &usize, &csize, &off)) {
      zip_error(error, "bad ZIP64 extra field", name);
      return NULL;
    }
    if (flags & 1) {
      zip_error(error, "encrypted entries are not supported", name);
      return NULL;
    }
    if (method != 0 || csize != usize) {
      zip_error(error, "compressed entry (torch.save writes stored entries only)", name);
      return NULL;
    }
    if (!in_bounds(off, 30, len) || rd32(buf + off) != SIG_LOCAL) {
      zip_error(error, "bad local header", name);
      return NULL;
    }
    uint64_t data = off + 30 + rd16(buf + off + 26) + rd16(buf + off + 28);
    if (!in_bounds(data, usize, len)) {
      zip_error(error, "entry data lies outside the file (truncated?)", name);
      return NULL;
    }
    UfoZipEntry *e = g_new0(UfoZipEntry, 1);
    e->name = g_steal_pointer(&name);
    e->data = buf + data;
    e->size = usize;
    e->crc32 = crc;
    g_ptr_array_add(zip->entries, e);
    p += 46 + (uint64_t)nlen + xlen + clen;
  }
  return g_steal_pointer(&zip);
}
