/* overlay/ unit tests: render onto small ARGB32 surfaces and check pixels against hand-computed
 * values (HSV→RGB, WCAG contrast, source-over blending). */
#include "overlay.h"

#include <glib.h>
#include <math.h>
#include <string.h>

typedef struct {
  cairo_surface_t *s;
  cairo_t *cr;
} Canvas;

static Canvas canvas_new(int w, int h, uint32_t fill)
{
  Canvas c;
  c.s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  c.cr = cairo_create(c.s);
  cairo_set_operator(c.cr, CAIRO_OPERATOR_SOURCE);
  cairo_set_source_rgba(c.cr, ((fill >> 16) & 0xFF) / 255.0, ((fill >> 8) & 0xFF) / 255.0,
                        (fill & 0xFF) / 255.0, (fill >> 24) / 255.0);
  cairo_paint(c.cr);
  cairo_set_operator(c.cr, CAIRO_OPERATOR_OVER);
  return c;
}

static void canvas_free(Canvas *c)
{
  cairo_destroy(c->cr);
  cairo_surface_destroy(c->s);
}

static uint32_t px(Canvas *c, int x, int y)
{
  cairo_surface_flush(c->s);
  const uint8_t *d = cairo_image_surface_get_data(c->s);
  return *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(c->s) + 4 * x);
}

static void assert_px_near(uint32_t got, uint32_t want, int tol)
{
  for (int sh = 0; sh < 32; sh += 8) {
    int a = (got >> sh) & 0xFF, b = (want >> sh) & 0xFF;
    if (abs(a - b) > tol)
      g_error("pixel 0x%08x, expected 0x%08x (±%d)", got, want, tol);
  }
}

static void test_class_color(void)
{
  /* id 0: hue 0, s 0.85, v 0.95 -> (0.95, 0.1425, 0.1425) -> (242, 36, 36) */
  g_assert_cmphex(ufo_overlay_class_color(0), ==, 0xFFF22424);
  /* id 1: hue 0.618034*6 = 3.708 -> sector 3, f 0.708: (p, q, v) = (36, 96, 242) */
  g_assert_cmphex(ufo_overlay_class_color(1), ==, 0xFF2460F2);
  g_assert_cmphex(ufo_overlay_class_color(-1), ==, 0xFF808080);
  g_assert_cmphex(ufo_overlay_class_color(17), ==, ufo_overlay_class_color(17));
  /* the 80 COCO classes: consecutive ids never get near-identical colours */
  for (int i = 0; i < 79; i++) {
    uint32_t a = ufo_overlay_class_color(i), b = ufo_overlay_class_color(i + 1);
    int d = 0;
    for (int sh = 0; sh < 24; sh += 8)
      d += abs((int)((a >> sh) & 0xFF) - (int)((b >> sh) & 0xFF));
    g_assert_cmpint(d, >, 60);
  }
}

static void test_contrast(void)
{
  g_assert_cmphex(ufo_overlay_contrast_color(0xFFFFFF00), ==, 0xFF000000); /* yellow */
  g_assert_cmphex(ufo_overlay_contrast_color(0xFF000080), ==, 0xFFFFFFFF); /* navy */
  /* grey 128: L = 0.2159; vs black 5.32 > vs white 3.95 */
  g_assert_cmphex(ufo_overlay_contrast_color(0xFF808080), ==, 0xFF000000);
  g_assert_cmphex(ufo_overlay_contrast_color(0xFF0000FF), ==, 0xFFFFFFFF); /* blue */
}

static void test_sizes(void)
{
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  g_assert_cmpfloat_with_epsilon(ufo_overlay_line_width(&st, 480), 1.6, 1e-9);
  g_assert_cmpfloat_with_epsilon(ufo_overlay_line_width(&st, 1080), 3.6, 1e-9);
  g_assert_cmpfloat_with_epsilon(ufo_overlay_line_width(&st, 48), 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(ufo_overlay_font_size(&st, 480), 12.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(ufo_overlay_font_size(&st, 1080), 27.0, 1e-9);
  st.line_width = 5;
  st.font_size = 9;
  g_assert_cmpfloat(ufo_overlay_line_width(&st, 1080), ==, 5.0);
  g_assert_cmpfloat(ufo_overlay_font_size(&st, 1080), ==, 9.0);
}

static void test_box_pixels(void)
{
  Canvas c = canvas_new(64, 48, 0);
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.line_width = 2;
  st.draw_labels = st.draw_scores = false;
  UfoOverlayObject o = {
      .class_id = 0, .label = "person", .score = 0.9, .x = 10, .y = 8, .w = 30, .h = 20};
  ufo_overlay_draw_object(c.cr, &st, &o, 64, 48);
  const uint32_t red = 0xFFF22424;
  g_assert_cmphex(px(&c, 10, 20), ==, red); /* left edge, 2 px wide, inside the box */
  g_assert_cmphex(px(&c, 11, 20), ==, red);
  g_assert_cmphex(px(&c, 12, 20), ==, 0);   /* interior untouched */
  g_assert_cmphex(px(&c, 9, 20), ==, 0);    /* outside */
  g_assert_cmphex(px(&c, 25, 8), ==, red);  /* top edge */
  g_assert_cmphex(px(&c, 39, 27), ==, red); /* bottom-right corner pixel */
  g_assert_cmphex(px(&c, 40, 27), ==, 0);
  g_assert_cmphex(px(&c, 25, 7), ==, 0); /* no label drawn */
  canvas_free(&c);
}

static void test_label(void)
{
  Canvas c = canvas_new(96, 64, 0xFFFFFFFF);
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.line_width = 1;
  st.font_size = 10;
  UfoOverlayObject o = {
      .class_id = 0, .label = "person", .score = 0.87, .x = 4, .y = 30, .w = 60, .h = 20};
  ufo_overlay_draw_object(c.cr, &st, &o, 96, 64);
  /* label background above the box: filled with the class colour; text in black (contrast) */
  int n_bg = 0, n_text = 0;
  for (int y = 10; y < 30; y++)
    for (int x = 4; x < 64; x++) {
      uint32_t p = px(&c, x, y);
      n_bg += p == 0xFFF22424;
      n_text += p == 0xFF000000;
    }
  g_assert_cmpint(n_bg, >, 200);
  g_assert_cmpint(n_text, >, 20);
  g_assert_cmphex(px(&c, 80, 5), ==, 0xFFFFFFFF); /* right of the label, untouched */
  canvas_free(&c);

  /* box at the top edge: the label moves inside the box instead of leaving the frame */
  c = canvas_new(96, 64, 0xFFFFFFFF);
  o.y = 0;
  ufo_overlay_draw_object(c.cr, &st, &o, 96, 64);
  g_assert_cmphex(px(&c, 5, 3), ==, 0xFFF22424);
  canvas_free(&c);
}

static void test_label_without_background(void)
{
  Canvas c = canvas_new(96, 64, 0xFF000000);
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.font_size = 12;
  st.text_background = false;
  st.draw_boxes = false;
  st.text_color = 0xFF00FF00;
  UfoOverlayObject o = {
      .class_id = 3, .label = "car", .score = -1, .x = 4, .y = 30, .w = 60, .h = 20};
  ufo_overlay_draw_object(c.cr, &st, &o, 96, 64);
  int n_green = 0, n_class = 0;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 96; x++) {
      n_green += px(&c, x, y) == 0xFF00FF00;
      n_class += px(&c, x, y) == ufo_overlay_class_color(3);
    }
  g_assert_cmpint(n_green, >, 10);
  g_assert_cmpint(n_class, ==, 0);
  canvas_free(&c);
}

static void test_mask(void)
{
  /* 10x10 mask, inner 6x6 square (rows/cols 2..7) at probability 200/255 > 0.5 */
  uint8_t m[10 * 12] = {0};
  for (int y = 2; y < 8; y++)
    for (int x = 2; x < 8; x++)
      m[y * 12 + x] = 200;
  m[0] = 127; /* 127 < 0.5*255 = 127.5: outside */
  UfoOverlayMask mask = {
      .data = m, .width = 10, .height = 10, .stride = 12, .x = 20, .y = 10, .w = 20, .h = 20};
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.mask_alpha = 0.5;
  Canvas c = canvas_new(64, 48, 0xFFFFFFFF);
  ufo_overlay_draw_mask(c.cr, &st, &mask, 0xFFFF0000);
  /* interior (mask 4,4 -> frame 28..29, 18..19): white OVER red at alpha 128/255 */
  assert_px_near(px(&c, 28, 18), 0xFFFF7F7F, 1);
  /* outline (mask 2,4 -> frame 24, 18): opaque red */
  g_assert_cmphex(px(&c, 24, 18), ==, 0xFFFF0000);
  g_assert_cmphex(px(&c, 20, 10), ==, 0xFFFFFFFF); /* mask 0,0 = 127: outside */
  g_assert_cmphex(px(&c, 10, 10), ==, 0xFFFFFFFF); /* outside the rectangle */
  canvas_free(&c);

  /* a higher threshold removes the whole mask */
  st.mask_threshold = 0.9;
  c = canvas_new(64, 48, 0xFFFFFFFF);
  ufo_overlay_draw_mask(c.cr, &st, &mask, 0xFFFF0000);
  g_assert_cmphex(px(&c, 28, 18), ==, 0xFFFFFFFF);
  g_assert_cmphex(px(&c, 24, 18), ==, 0xFFFFFFFF);
  canvas_free(&c);
}

/* A mask drawn unscaled at whole pixels is composited in place (overlay/masks.c); drawn inside
 * a group it goes through cairo's compositing: the same bits, on a background of many
 * colours and alphas, at places that clip it on every side, at thresholds that take each way
 * of skipping eight outside pixels at once. */
static void test_mask_in_place(void)
{
  enum { MW = 37, MH = 23, W = 64, H = 48 };
  uint8_t m[MW * MH];
  for (int y = 0; y < MH; y++)
    for (int x = 0; x < MW; x++)
      m[y * MW + x] = x < 12 || (y > 15 && x > 20) ? (uint8_t)(x * 3 + y) /* runs of low values */
                                                   : (uint8_t)((x * 29 + y * 53 + x * y) % 256);
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.mask_alpha = 0.45;
  const int places[][2] = {{5, 7}, {-9, -4}, {40, 30}, {-20, 35}, {50, -10}};
  const double thresholds[] = {0.5, 0.2, 0.9, 0.0, 0.01}; /* skipping tests of each kind */
  for (size_t i = 0; i < G_N_ELEMENTS(places) * G_N_ELEMENTS(thresholds); i++) {
    st.mask_threshold = thresholds[i / G_N_ELEMENTS(places)];
    /* rows 4..6 empty but one byte at exactly the threshold: the only inside pixel of its 8 */
    memset(m + 4 * MW, 0, 3 * MW);
    m[5 * MW + 9] = (uint8_t)ceil(st.mask_threshold * 255.0);
    const int *at = places[i % G_N_ELEMENTS(places)];
    UfoOverlayMask mask = {.data = m,
                           .width = MW,
                           .height = MH,
                           .stride = MW,
                           .x = at[0],
                           .y = at[1],
                           .w = MW,
                           .h = MH};
    Canvas a = canvas_new(W, H, 0), b = canvas_new(W, H, 0);
    cairo_surface_flush(a.s);
    cairo_surface_flush(b.s);
    uint8_t *da = cairo_image_surface_get_data(a.s), *db = cairo_image_surface_get_data(b.s);
    const int stride = cairo_image_surface_get_stride(a.s);
    for (int y = 0; y < H; y++) /* premultiplied background: each channel <= its alpha */
      for (int x = 0; x < W; x++) {
        const uint32_t al = (uint32_t)(x * 7 + y * 11) % 256;
        const uint32_t v =
            al << 24 | ((al * (uint32_t)x / W) << 16) | ((al * (uint32_t)y / H) << 8) | (al / 3);
        *(uint32_t *)(da + (size_t)y * stride + 4 * x) = v;
        *(uint32_t *)(db + (size_t)y * stride + 4 * x) = v;
      }
    cairo_surface_mark_dirty(a.s);
    cairo_surface_mark_dirty(b.s);
    ufo_overlay_draw_mask(a.cr, &st, &mask, 0xFF33AA66);
    cairo_push_group(b.cr); /* a group: cairo composites the mask surface */
    ufo_overlay_draw_mask(b.cr, &st, &mask, 0xFF33AA66);
    cairo_pop_group_to_source(b.cr);
    cairo_paint(b.cr);
    int off = 0;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        off += px(&a, x, y) != px(&b, x, y);
    if (off)
      g_error("mask at (%d, %d), threshold %g: %d pixels differ from cairo's compositing", at[0],
              at[1], st.mask_threshold, off);
    canvas_free(&a);
    canvas_free(&b);
  }
}

static void test_semantic(void)
{
  uint16_t ids[4] = {0, 1, 2, 300};
  UfoOverlaySemantic map = {.data = (const uint8_t *)ids,
                            .bytes_per_pixel = 2,
                            .width = 2,
                            .height = 2,
                            .stride = 4,
                            .x = 0,
                            .y = 0,
                            .w = 8,
                            .h = 8,
                            .hidden_id = -1};
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.semantic_alpha = 1.0;
  Canvas c = canvas_new(8, 8, 0xFFFFFFFF);
  ufo_overlay_draw_semantic(c.cr, &st, &map);
  g_assert_cmphex(px(&c, 1, 1), ==, ufo_overlay_class_color(0));
  g_assert_cmphex(px(&c, 5, 2), ==, ufo_overlay_class_color(1));
  g_assert_cmphex(px(&c, 2, 6), ==, ufo_overlay_class_color(2));
  g_assert_cmphex(px(&c, 7, 7), ==, ufo_overlay_class_color(300));
  canvas_free(&c);

  /* a hidden class leaves its pixels as they were, the others are tinted as before */
  map.hidden_id = 1;
  c = canvas_new(8, 8, 0xFFFFFFFF);
  ufo_overlay_draw_semantic(c.cr, &st, &map);
  g_assert_cmphex(px(&c, 1, 1), ==, ufo_overlay_class_color(0));
  g_assert_cmphex(px(&c, 5, 2), ==, 0xFFFFFFFF);
  g_assert_cmphex(px(&c, 6, 1), ==, 0xFFFFFFFF);
  g_assert_cmphex(px(&c, 2, 6), ==, ufo_overlay_class_color(2));
  canvas_free(&c);

  /* half transparent over black: each channel halves */
  st.semantic_alpha = 0.5;
  uint8_t ids8[1] = {1};
  UfoOverlaySemantic m8 = {.data = ids8,
                           .bytes_per_pixel = 1,
                           .width = 1,
                           .height = 1,
                           .stride = 1,
                           .x = 0,
                           .y = 0,
                           .w = 4,
                           .h = 4,
                           .hidden_id = -1};
  c = canvas_new(4, 4, 0xFF000000);
  ufo_overlay_draw_semantic(c.cr, &st, &m8);
  /* class 1 = (36, 96, 242) * 128/255 = (18, 48, 121) */
  assert_px_near(px(&c, 2, 2), 0xFF123079, 1);
  canvas_free(&c);
}

static void test_caption(void)
{
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  Canvas c = canvas_new(96, 64, 0xFFFFFFFF);
  ufo_overlay_draw_caption(c.cr, &st, "a cat sitting on a very long red sofa in the sun", 96, 64);
  /* banner: 60% black over white = 102 on the left padding column, bottom row */
  assert_px_near(px(&c, 0, 63), 0xFF666666, 1);
  g_assert_cmphex(px(&c, 0, 0), ==, 0xFFFFFFFF); /* top untouched */
  /* wrapped into more than one line: the banner is taller than one line of 8 px text */
  assert_px_near(px(&c, 0, 64 - 20), 0xFF666666, 1);
  int white = 0;
  for (int y = 40; y < 64; y++)
    for (int x = 3; x < 93; x++)
      white += px(&c, x, y) == 0xFFFFFFFF;
  g_assert_cmpint(white, >, 20); /* white text on the banner */
  canvas_free(&c);
}

static void test_frame_toggles(void)
{
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.draw_boxes = st.draw_labels = st.draw_scores = st.draw_captions = false;
  UfoOverlayObject o = {
      .class_id = 2, .label = "dog", .score = 0.5, .x = 1, .y = 1, .w = 10, .h = 10};
  UfoOverlayFrame f = {
      .width = 32, .height = 32, .objects = &o, .n_objects = 1, .caption = "hello"};
  Canvas c = canvas_new(32, 32, 0);
  ufo_overlay_draw_frame(c.cr, &st, &f);
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      g_assert_cmphex(px(&c, x, y), ==, 0);
  canvas_free(&c);
}

/* Drawing into the bounds rectangle only gives exactly the full-frame drawing. */
static void check_bounds(const UfoOverlayStyle *st, const UfoOverlayFrame *f)
{
  Canvas full = canvas_new(f->width, f->height, 0);
  ufo_overlay_draw_frame(full.cr, st, f);
  int bx, by, bw, bh;
  g_assert_true(ufo_overlay_frame_bounds(st, f, &bx, &by, &bw, &bh));
  g_assert_cmpint(bx, >=, 0);
  g_assert_cmpint(by, >=, 0);
  g_assert_cmpint(bx + bw, <=, f->width);
  g_assert_cmpint(by + bh, <=, f->height);
  Canvas part = canvas_new(bw, bh, 0);
  cairo_translate(part.cr, -bx, -by);
  ufo_overlay_draw_frame(part.cr, st, f);
  int painted = 0;
  for (int y = 0; y < f->height; y++)
    for (int x = 0; x < f->width; x++) {
      uint32_t a = px(&full, x, y);
      painted += a != 0;
      if (x >= bx && x < bx + bw && y >= by && y < by + bh)
        g_assert_cmphex(a, ==, px(&part, x - bx, y - by));
      else
        g_assert_cmphex(a, ==, 0);
    }
  g_assert_cmpint(painted, >, 0);
  canvas_free(&full);
  canvas_free(&part);
}

static void test_bounds(void)
{
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  uint8_t m[4] = {255, 0, 255, 255};
  UfoOverlayMask mask = {
      .data = m, .width = 2, .height = 2, .stride = 2, .x = 30, .y = 40, .w = 10, .h = 10};
  UfoOverlayObject objs[3] = {
      /* label clamped at the right edge and moved inside at the top edge */
      {.class_id = 0,
       .label = "a very long label",
       .score = 0.5,
       .x = 150,
       .y = 0,
       .w = 40,
       .h = 20,
       .track_id = 7},
      {.class_id = 5,
       .label = "dog",
       .score = 0.9,
       .x = 20,
       .y = 30,
       .w = 30,
       .h = 30,
       .mask = &mask},
      {.class_id = 9, .label = NULL, .score = -1, .x = 100, .y = 90, .w = 10, .h = 10},
  };
  UfoOverlayFrame f = {.width = 200, .height = 120, .objects = objs, .n_objects = 3};
  check_bounds(&st, &f);
  st.text_background = false;
  check_bounds(&st, &f);
  f.caption = "a caption";
  check_bounds(&st, &f);
  /* only a small box: the rectangle is small too */
  UfoOverlayFrame small = {.width = 200, .height = 120, .objects = &objs[2], .n_objects = 1};
  int x, y, w, h;
  g_assert_true(ufo_overlay_frame_bounds(&st, &small, &x, &y, &w, &h));
  g_assert_cmpint(w, <=, 14);
  g_assert_cmpint(h, <=, 14);
  check_bounds(&st, &small);
  UfoOverlayFrame empty = {.width = 200, .height = 120};
  g_assert_false(ufo_overlay_frame_bounds(&st, &empty, &x, &y, &w, &h));
}

/* Analytics rules: a horizontal line 20,60 → 180,60 is painted along its length, its "in" arrow
 * (normal (−dy, dx) = down) below the midpoint and nothing above it; a zone is filled lightly
 * inside and nothing outside; the bounds of a frame with rules cover the frame. */
static void test_rules(void)
{
  UfoOverlayStyle st;
  ufo_overlay_style_init(&st);
  st.draw_labels = false;
  st.line_width = 3;
  st.font_size = 12;
  const double line[] = {20, 60, 180, 60};
  const double zone[] = {20, 80, 60, 80, 60, 110, 20, 110};
  UfoOverlayRule rules[2] = {
      {.is_line = true, .xy = line, .n_points = 2, .name = "door", .count_in = 2},
      {.is_line = false, .xy = zone, .n_points = 4, .name = "lot", .occupancy = 1}};
  Canvas c = canvas_new(200, 120, 0);
  ufo_overlay_draw_rule(c.cr, &st, &rules[0], 200, 120);
  for (int x = 25; x <= 175; x += 10)
    g_assert_cmphex(px(&c, x, 60) >> 24, ==, 0xFF);
  g_assert_cmphex(px(&c, 100, 50), ==, 0);          /* nothing above the line */
  g_assert_cmphex(px(&c, 100, 68) >> 24, ==, 0xFF); /* the arrow points down ("in") */
  g_assert_cmphex(px(&c, 100, 90), ==, 0);
  ufo_overlay_draw_rule(c.cr, &st, &rules[1], 200, 120);
  const uint32_t inside = px(&c, 40, 95), outside = px(&c, 100, 95);
  g_assert_cmpuint(inside >> 24, >, 0x10); /* 15 % fill */
  g_assert_cmpuint(inside >> 24, <, 0x80);
  g_assert_cmphex(outside, ==, 0);
  g_assert_cmphex(px(&c, 20, 95) >> 24, ==, 0xFF); /* outline */
  canvas_free(&c);

  /* through ufo_overlay_draw_frame, with labels (tags) on: bounds are the whole frame */
  st.draw_labels = true;
  UfoOverlayFrame f = {.width = 200, .height = 120, .rules = rules, .n_rules = 2};
  int bx, by, bw, bh;
  g_assert_true(ufo_overlay_frame_bounds(&st, &f, &bx, &by, &bw, &bh));
  g_assert_cmpint(bw, ==, 200);
  g_assert_cmpint(bh, ==, 120);
  check_bounds(&st, &f);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/overlay/class-color", test_class_color);
  g_test_add_func("/overlay/contrast", test_contrast);
  g_test_add_func("/overlay/sizes", test_sizes);
  g_test_add_func("/overlay/box-pixels", test_box_pixels);
  g_test_add_func("/overlay/label", test_label);
  g_test_add_func("/overlay/label-without-background", test_label_without_background);
  g_test_add_func("/overlay/mask", test_mask);
  g_test_add_func("/overlay/mask-in-place", test_mask_in_place);
  g_test_add_func("/overlay/semantic", test_semantic);
  g_test_add_func("/overlay/caption", test_caption);
  g_test_add_func("/overlay/frame-toggles", test_frame_toggles);
  g_test_add_func("/overlay/bounds", test_bounds);
  g_test_add_func("/overlay/rules", test_rules);
  return g_test_run();
}
