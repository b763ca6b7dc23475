#include "tc_v4l2.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/videodev2.h>

static int xioctl(int fd, unsigned long req, void *arg) {
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r == -1 && errno == EINTR);
	return r == -1 ? errno : 0;
}

uint32_t tc_cam_yuyv(void) { return V4L2_PIX_FMT_YUYV; }

int tc_cam_open(tc_cam *c, const char *path, int w, int h, int fps, const char **stage) {
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	*stage = "open";
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return errno;
	c->fd = fd;

	struct v4l2_capability cap;
	memset(&cap, 0, sizeof(cap));
	*stage = "query capabilities";
	int err = xioctl(fd, VIDIOC_QUERYCAP, &cap);
	if (err) return err;
	uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	*stage = "capture capability";
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) return ENODEV;
	*stage = "streaming capability";
	if (!(caps & V4L2_CAP_STREAMING)) return ENOTSUP;

	struct v4l2_format fmt;
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	fmt.fmt.pix.width = w;
	fmt.fmt.pix.height = h;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	*stage = "set format";
	if ((err = xioctl(fd, VIDIOC_S_FMT, &fmt))) return err;
	c->width = fmt.fmt.pix.width;
	c->height = fmt.fmt.pix.height;
	c->stride = fmt.fmt.pix.bytesperline ? fmt.fmt.pix.bytesperline : 2 * c->width;
	c->pixfmt = fmt.fmt.pix.pixelformat;
	if (c->pixfmt != V4L2_PIX_FMT_YUYV) return 0; // caller reports the format

	if (fps > 0) {
		struct v4l2_streamparm parm;
		memset(&parm, 0, sizeof(parm));
		parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		parm.parm.capture.timeperframe.numerator = 1;
		parm.parm.capture.timeperframe.denominator = fps;
		xioctl(fd, VIDIOC_S_PARM, &parm); // best effort: many drivers ignore it
	}

	struct v4l2_requestbuffers req;
	memset(&req, 0, sizeof(req));
	req.count = 4;
	req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	req.memory = V4L2_MEMORY_MMAP;
	*stage = "request buffers";
	if ((err = xioctl(fd, VIDIOC_REQBUFS, &req))) return err;
	if (req.count < 2) return ENOMEM;
	if (req.count > TC_CAM_MAX_BUFS) req.count = TC_CAM_MAX_BUFS;
	for (unsigned i = 0; i < req.count; i++) {
		struct v4l2_buffer buf;
		memset(&buf, 0, sizeof(buf));
		buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		buf.memory = V4L2_MEMORY_MMAP;
		buf.index = i;
		*stage = "query buffer";
		if ((err = xioctl(fd, VIDIOC_QUERYBUF, &buf))) return err;
		void *p = mmap(NULL, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, buf.m.offset);
		*stage = "map buffer";
		if (p == MAP_FAILED) return errno;
		c->start[i] = p;
		c->length[i] = buf.length;
		c->nbufs = i + 1;
		*stage = "queue buffer";
		if ((err = tc_cam_queue(c, i))) return err;
	}
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	*stage = "stream on";
	if ((err = xioctl(fd, VIDIOC_STREAMON, &type))) return err;
	c->streaming = 1;
	return 0;
}

int tc_cam_queue(tc_cam *c, int index) {
	struct v4l2_buffer buf;
	memset(&buf, 0, sizeof(buf));
	buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	buf.memory = V4L2_MEMORY_MMAP;
	buf.index = index;
	return xioctl(c->fd, VIDIOC_QBUF, &buf);
}

int tc_cam_dequeue(tc_cam *c, int timeout_ms, int *index, uint32_t *used) {
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int r = poll(&pfd, 1, timeout_ms);
	if (r < 0) return errno == EINTR ? EAGAIN : errno;
	if (r == 0) return EAGAIN;
	struct v4l2_buffer buf;
	memset(&buf, 0, sizeof(buf));
	buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	buf.memory = V4L2_MEMORY_MMAP;
	int err = xioctl(c->fd, VIDIOC_DQBUF, &buf);
	if (err) return err;
	if (buf.index >= (unsigned)c->nbufs) return EINVAL;
	*index = buf.index;
	*used = buf.bytesused;
	if (*used > c->length[buf.index]) *used = c->length[buf.index];
	if (buf.flags & V4L2_BUF_FLAG_ERROR) *used = 0;
	return 0;
}

void tc_cam_close(tc_cam *c) {
	if (c->streaming) {
		enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		xioctl(c->fd, VIDIOC_STREAMOFF, &type);
		c->streaming = 0;
	}
	for (int i = 0; i < c->nbufs; i++) munmap(c->start[i], c->length[i]);
	c->nbufs = 0;
	if (c->fd >= 0) close(c->fd);
	c->fd = -1;
}
