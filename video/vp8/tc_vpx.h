// Thin C helpers over libvpx for package vp8: the libvpx init and control
// entry points are macros cgo cannot call, and all codec state stays in C memory.
#ifndef TC_VPX_H
#define TC_VPX_H
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
	int inited;
	uint8_t *out;
	size_t out_cap;
	size_t out_len;
	int out_key;
} tc_enc;

typedef struct {
	vpx_codec_ctx_t ctx;
	uint8_t *in;
	size_t in_cap;
	vpx_image_t *img;
} tc_dec;

tc_enc *tc_enc_new(int w, int h, int fps, int kbps, int cpu_used, int kf_max, int drop_thresh, int *err);
int tc_enc_set_bitrate(tc_enc *e, int kbps);
int tc_enc_encode(tc_enc *e, const uint8_t *y, int ys, const uint8_t *u, int us, const uint8_t *v, int vs,
                  int64_t pts, int force_kf);
void tc_enc_free(tc_enc *e);
tc_dec *tc_dec_new(int *err);
int tc_dec_decode(tc_dec *d, const uint8_t *data, size_t len);
int tc_img_fmt(tc_dec *d);
int tc_img_w(tc_dec *d);
int tc_img_h(tc_dec *d);
uint8_t *tc_img_plane(tc_dec *d, int p);
int tc_img_stride(tc_dec *d, int p);
void tc_dec_free(tc_dec *d);
const char *tc_err_string(int e);
int tc_img_fmt_i420(void);

#endif
