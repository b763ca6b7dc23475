/* A C ABI over WebRTC's AudioProcessing module (libwebrtc-audio-processing
 * 0.3), so that cgo can drive it. Mono only; one 10 ms chunk or several per
 * call. Every function returns 0 or a negative AudioProcessing::Error. */
#ifndef TERMCALL_DSP_APM_H
#define TERMCALL_DSP_APM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_apm tc_apm;

typedef struct {
	int rate;             /* Hz, a multiple of 100 in [8000, 48000] */
	int aec;              /* echo cancellation */
	int aec_level;        /* suppression 0 low .. 2 high */
	int ns;               /* noise suppression */
	int ns_level;         /* 0 low .. 3 very high */
	int agc;              /* adaptive digital gain */
	int agc_target_dbfs;  /* peak target below full scale, 0..31 */
	int agc_gain_db;      /* max compression gain, 0..90 */
	int hpf;              /* high-pass filter */
} tc_apm_config;

typedef struct {
	int erle_instant, erle_average; /* dB, AEC metrics (-100: none yet) */
	int erl_average;                /* dB */
	int delay_median_ms;            /* AEC's own delay estimate (-1: none) */
	int delay_std_ms;
	int has_echo;                   /* last capture chunk might hold echo */
	int out_rms_dbfs;               /* capture output RMS since last call, 0..127 (negative dBFS) */
	float speech_probability;       /* NS, last chunk */
} tc_apm_stats;

/* tc_apm_new returns NULL and sets *err when the module refuses cfg. */
tc_apm *tc_apm_new(const tc_apm_config *cfg, int *err);
/* tc_apm_render analyses n samples (a multiple of rate/100) being played. */
int tc_apm_render(tc_apm *a, const int16_t *pcm, int n);
/* tc_apm_capture processes n captured samples in place; delay_ms is the
 * time from render of a sample to capture of its echo. */
int tc_apm_capture(tc_apm *a, int16_t *pcm, int n, int delay_ms);
int tc_apm_stats_get(tc_apm *a, tc_apm_stats *s);
void tc_apm_free(tc_apm *a);

#ifdef __cplusplus
}
#endif

#endif
