// The C++ side of package dsp: owns one webrtc::AudioProcessing and the
// float buffers its deinterleaved interface needs. No exception crosses
// into Go: allocation failures return NULL or an error code.
#include "apm.h"

#include <new>
#include <vector>

#include "webrtc/modules/audio_processing/include/audio_processing.h"

struct tc_apm {
	webrtc::AudioProcessing *apm;
	webrtc::StreamConfig stream;
	int chunk;             // samples per 10 ms
	std::vector<float> buf;
	bool aec, ns;
	float speech_probability;
};

static void to_float(const int16_t *in, float *out, int n) {
	for (int i = 0; i < n; i++) out[i] = in[i] / 32768.0f;
}

static void to_int16(const float *in, int16_t *out, int n) {
	for (int i = 0; i < n; i++) {
		float v = in[i] * 32768.0f;
		if (v > 32767.0f) v = 32767.0f;
		if (v < -32768.0f) v = -32768.0f;
		out[i] = (int16_t)(v < 0 ? v - 0.5f : v + 0.5f);
	}
}

extern "C" tc_apm *tc_apm_new(const tc_apm_config *cfg, int *err) {
	*err = webrtc::AudioProcessing::kBadParameterError;
	if (cfg->rate < 8000 || cfg->rate > 48000 || cfg->rate % 100 != 0) {
		*err = webrtc::AudioProcessing::kBadSampleRateError;
		return NULL;
	}
	webrtc::Config c;
	// The extended filter (128 ms) and delay-agnostic mode are what make
	// the AEC usable on desktop audio stacks, whose reported delays are
	// rough; PulseAudio's echo-cancel module sets the same. The
	// experimental AGC drives an analog mixer we do not have.
	c.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
	c.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
	c.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
	webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(c);
	if (apm == NULL) {
		*err = webrtc::AudioProcessing::kCreationFailedError;
		return NULL;
	}
	tc_apm *a = new (std::nothrow) tc_apm();
	if (a == NULL) {
		delete apm;
		*err = webrtc::AudioProcessing::kCreationFailedError;
		return NULL;
	}
	a->apm = apm;
	a->stream = webrtc::StreamConfig(cfg->rate, 1, false);
	a->chunk = cfg->rate / 100;
	a->buf.assign(a->chunk, 0.0f);
	a->aec = cfg->aec != 0;
	a->ns = cfg->ns != 0;
	a->speech_probability = 0;

	webrtc::ProcessingConfig pc;
	pc.input_stream() = a->stream;
	pc.output_stream() = a->stream;
	pc.reverse_input_stream() = a->stream;
	pc.reverse_output_stream() = a->stream;
	int e = apm->Initialize(pc);
	if (e == 0 && cfg->hpf) e = apm->high_pass_filter()->Enable(true);
	if (e == 0 && a->aec) {
		webrtc::EchoCancellation *ec = apm->echo_cancellation();
		e = ec->enable_drift_compensation(false);
		if (e == 0) e = ec->set_suppression_level((webrtc::EchoCancellation::SuppressionLevel)cfg->aec_level);
		if (e == 0) e = ec->enable_metrics(true);
		if (e == 0) e = ec->enable_delay_logging(true);
		if (e == 0) e = ec->Enable(true);
	}
	if (e == 0 && a->ns) {
		int lv = cfg->ns_level;
		if (lv < 0) lv = 0;
		if (lv > 3) lv = 3;
		e = apm->noise_suppression()->set_level((webrtc::NoiseSuppression::Level)lv);
		if (e == 0) e = apm->noise_suppression()->Enable(true);
	}
	if (e == 0 && cfg->agc) {
		webrtc::GainControl *gc = apm->gain_control();
		e = gc->set_mode(webrtc::GainControl::kAdaptiveDigital);
		if (e == 0) e = gc->set_target_level_dbfs(cfg->agc_target_dbfs);
		if (e == 0) e = gc->set_compression_gain_db(cfg->agc_gain_db);
		if (e == 0) e = gc->enable_limiter(true);
		if (e == 0) e = gc->Enable(true);
	}
	if (e == 0) e = apm->level_estimator()->Enable(true);
	if (e != 0) {
		delete apm;
		delete a;
		*err = e;
		return NULL;
	}
	*err = 0;
	return a;
}

extern "C" int tc_apm_render(tc_apm *a, const int16_t *pcm, int n) {
	if (n <= 0 || n % a->chunk != 0) return webrtc::AudioProcessing::kBadDataLengthError;
	for (int off = 0; off < n; off += a->chunk) {
		float *ch = a->buf.data();
		to_float(pcm + off, ch, a->chunk);
		int e = a->apm->ProcessReverseStream(&ch, a->stream, a->stream, &ch);
		if (e != 0) return e;
	}
	return 0;
}

extern "C" int tc_apm_capture(tc_apm *a, int16_t *pcm, int n, int delay_ms) {
	if (n <= 0 || n % a->chunk != 0) return webrtc::AudioProcessing::kBadDataLengthError;
	if (delay_ms < 0) delay_ms = 0;
	if (delay_ms > 500) delay_ms = 500;
	for (int off = 0; off < n; off += a->chunk) {
		float *ch = a->buf.data();
		to_float(pcm + off, ch, a->chunk);
		if (a->aec) {
			// A warning (delay out of range) still processes the chunk.
			int e = a->apm->set_stream_delay_ms(delay_ms);
			if (e != 0 && e != webrtc::AudioProcessing::kBadStreamParameterWarning) return e;
		}
		int e = a->apm->ProcessStream(&ch, a->stream, a->stream, &ch);
		if (e != 0 && e != webrtc::AudioProcessing::kBadStreamParameterWarning) return e;
		to_int16(ch, pcm + off, a->chunk);
		if (a->ns) a->speech_probability = a->apm->noise_suppression()->speech_probability();
	}
	return 0;
}

extern "C" int tc_apm_stats_get(tc_apm *a, tc_apm_stats *s) {
	s->erle_instant = s->erle_average = s->erl_average = -100;
	s->delay_median_ms = s->delay_std_ms = -1;
	s->has_echo = 0;
	if (a->aec) {
		webrtc::EchoCancellation *ec = a->apm->echo_cancellation();
		webrtc::EchoCancellation::Metrics m;
		if (ec->GetMetrics(&m) == 0) {
			s->erle_instant = m.echo_return_loss_enhancement.instant;
			s->erle_average = m.echo_return_loss_enhancement.average;
			s->erl_average = m.echo_return_loss.average;
		}
		int med = -1, sd = -1;
		float poor = 0;
		if (ec->GetDelayMetrics(&med, &sd, &poor) == 0) {
			s->delay_median_ms = med;
			s->delay_std_ms = sd;
		}
		s->has_echo = ec->stream_has_echo() ? 1 : 0;
	}
	s->out_rms_dbfs = a->apm->level_estimator()->RMS();
	s->speech_probability = a->speech_probability;
	return 0;
}

extern "C" void tc_apm_free(tc_apm *a) {
	if (a == NULL) return;
	delete a->apm;
	delete a;
}
