// Minimal V4L2 streaming capture (mmap buffers, YUYV) for package camera.
// The C side owns the file descriptor and the mapped buffers.
#ifndef TC_V4L2_H
#define TC_V4L2_H
#include <stdint.h>
#include <stddef.h>

#define TC_CAM_MAX_BUFS 8

typedef struct {
	int fd;
	int width, height, stride;
	uint32_t pixfmt;
	int nbufs;
	void *start[TC_CAM_MAX_BUFS];
	size_t length[TC_CAM_MAX_BUFS];
	int streaming;
} tc_cam;

// tc_cam_open returns 0 or an errno; stage names the failing step.
int tc_cam_open(tc_cam *c, const char *path, int w, int h, int fps, const char **stage);
// tc_cam_dequeue waits up to timeout_ms; returns 0 and sets *index and
// *used, EAGAIN on timeout, or an errno.
int tc_cam_dequeue(tc_cam *c, int timeout_ms, int *index, uint32_t *used);
int tc_cam_queue(tc_cam *c, int index);
void tc_cam_close(tc_cam *c);
uint32_t tc_cam_yuyv(void);
#endif
