#include "tc_vpx.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

// release_freed hands the pages of a closed codec back to the system.
// libvpx's frame buffers are a few hundred KB each; glibc keeps freed
// chunks in the arena of the thread that freed them, and Go runs cgo calls
// on many threads, so without a trim every arena ends up holding a call's
// worth of buffers (a process grew by ~18 MB over 100 calls, flat with
// MALLOC_ARENA_MAX=1). malloc_trim walks every arena; once per codec and
// call is cheap.
static void release_freed(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

tc_enc *tc_enc_new(int w, int h, int fps, int kbps, int cpu_used, int kf_max, int drop_thresh, int *err) {
	tc_enc *e = calloc(1, sizeof(tc_enc));
	if (!e) { *err = VPX_CODEC_MEM_ERROR; return NULL; }
	vpx_codec_err_t r = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (r != VPX_CODEC_OK) { *err = r; free(e); return NULL; }
	e->cfg.g_w = w;
	e->cfg.g_h = h;
	e->cfg.g_timebase.num = 1;
	e->cfg.g_timebase.den = fps;
	e->cfg.g_threads = 1;
	e->cfg.g_lag_in_frames = 0;
	e->cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	e->cfg.g_pass = VPX_RC_ONE_PASS;
	e->cfg.rc_end_usage = VPX_CBR;
	e->cfg.rc_target_bitrate = kbps;
	e->cfg.rc_min_quantizer = 4;
	e->cfg.rc_max_quantizer = 56;
	e->cfg.rc_undershoot_pct = 95;
	e->cfg.rc_overshoot_pct = 15;
	e->cfg.rc_buf_sz = 1000;
	e->cfg.rc_buf_initial_sz = 500;
	e->cfg.rc_buf_optimal_sz = 600;
	e->cfg.rc_dropframe_thresh = drop_thresh;
	e->cfg.kf_mode = VPX_KF_AUTO;
	e->cfg.kf_min_dist = 0;
	e->cfg.kf_max_dist = kf_max;
	r = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0);
	if (r != VPX_CODEC_OK) { *err = r; free(e); return NULL; }
	e->inited = 1;
	vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu_used);
	vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
	vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
	// Cap keyframes at 3x an average frame so a PLI does not burst the link.
	vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
	if (!vpx_img_alloc(&e->img, VPX_IMG_FMT_I420, w, h, 16)) {
		vpx_codec_destroy(&e->ctx);
		free(e);
		*err = VPX_CODEC_MEM_ERROR;
		return NULL;
	}
	*err = 0;
	return e;
}

int tc_enc_set_bitrate(tc_enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

static void copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w, int h) {
	for (int y = 0; y < h; y++) memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, w);
}

int tc_enc_encode(tc_enc *e, const uint8_t *y, int ys, const uint8_t *u, int us, const uint8_t *v, int vs,
                         int64_t pts, int force_kf) {
	int w = e->cfg.g_w, h = e->cfg.g_h, cw = (w + 1) / 2, ch = (h + 1) / 2;
	copy_plane(e->img.planes[VPX_PLANE_Y], e->img.stride[VPX_PLANE_Y], y, ys, w, h);
	copy_plane(e->img.planes[VPX_PLANE_U], e->img.stride[VPX_PLANE_U], u, us, cw, ch);
	copy_plane(e->img.planes[VPX_PLANE_V], e->img.stride[VPX_PLANE_V], v, vs, cw, ch);
	e->out_len = 0;
	e->out_key = 0;
	vpx_codec_err_t r = vpx_codec_encode(&e->ctx, &e->img, pts, 1, force_kf ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	if (r != VPX_CODEC_OK) return r;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		size_t need = e->out_len + pkt->data.frame.sz;
		if (need > e->out_cap) {
			size_t cap = need * 2;
			uint8_t *n = realloc(e->out, cap);
			if (!n) return VPX_CODEC_MEM_ERROR;
			e->out = n;
			e->out_cap = cap;
		}
		memcpy(e->out + e->out_len, pkt->data.frame.buf, pkt->data.frame.sz);
		e->out_len = need;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) e->out_key = 1;
	}
	return 0;
}

void tc_enc_free(tc_enc *e) {
	if (!e) return;
	if (e->inited) vpx_codec_destroy(&e->ctx);
	vpx_img_free(&e->img);
	free(e->out);
	free(e);
	release_freed();
}

tc_dec *tc_dec_new(int *err) {
	tc_dec *d = calloc(1, sizeof(tc_dec));
	if (!d) { *err = VPX_CODEC_MEM_ERROR; return NULL; }
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	vpx_codec_err_t r = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (r != VPX_CODEC_OK) { *err = r; free(d); return NULL; }
	*err = 0;
	return d;
}

// tc_dec_decode copies the packet into C memory (libvpx must not hold Go
// memory) and decodes it; d->img is the last shown picture or NULL.
int tc_dec_decode(tc_dec *d, const uint8_t *data, size_t len) {
	d->img = NULL;
	if (len + 16 > d->in_cap) {
		size_t cap = (len + 16) * 2;
		uint8_t *n = realloc(d->in, cap);
		if (!n) return VPX_CODEC_MEM_ERROR;
		d->in = n;
		d->in_cap = cap;
	}
	memcpy(d->in, data, len);
	memset(d->in + len, 0, 16);
	vpx_codec_err_t r = vpx_codec_decode(&d->ctx, d->in, (unsigned int)len, NULL, 0);
	if (r != VPX_CODEC_OK) return r;
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img;
	while ((img = vpx_codec_get_frame(&d->ctx, &iter)) != NULL) d->img = img;
	return 0;
}

int tc_img_fmt(tc_dec *d) { return d->img ? (int)d->img->fmt : -1; }
int tc_img_w(tc_dec *d) { return (int)d->img->d_w; }
int tc_img_h(tc_dec *d) { return (int)d->img->d_h; }
uint8_t *tc_img_plane(tc_dec *d, int p) { return d->img->planes[p]; }
int tc_img_stride(tc_dec *d, int p) { return d->img->stride[p]; }

void tc_dec_free(tc_dec *d) {
	if (!d) return;
	vpx_codec_destroy(&d->ctx);
	free(d->in);
	free(d);
	release_freed();
}

const char *tc_err_string(int e) { return vpx_codec_err_to_string((vpx_codec_err_t)e); }
int tc_img_fmt_i420(void) { return VPX_IMG_FMT_I420; }
