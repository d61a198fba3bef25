// The GPU test guest's 3D check, with no Mesa: through the virtio-gpu DRM driver's own ioctls it
// makes a 3D render target, submits a virgl command stream that clears it, has the host copy the
// result back into the buffer's pages, and checks a pixel. Prints "VIRGL-CLEAR ok" and exits 0
// when the host's GPU rendered the colour; otherwise says which step failed and exits 1.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <virtgpu_drm.h>

enum {
    SIDE = 64,
    PIPE_TEXTURE_2D = 2,
    VIRGL_FORMAT_B8G8R8A8_UNORM = 1,
    VIRGL_BIND_RENDER_TARGET = 1 << 1,
    VIRGL_CCMD_CREATE_OBJECT = 1,
    VIRGL_CCMD_SET_FRAMEBUFFER_STATE = 5,
    VIRGL_CCMD_CLEAR = 7,
    VIRGL_OBJECT_SURFACE = 8,
    PIPE_CLEAR_COLOR0 = 1 << 2,
};

static int fail(const char *step)
{
    printf("VIRGL-CLEAR FAIL %s: %s\n", step, strerror(errno));
    return 1;
}

static uint32_t header(uint32_t command, uint32_t object, uint32_t length)
{
    return command | (object << 8) | (length << 16);
}

static uint32_t bits(float value)
{
    uint32_t word;
    memcpy(&word, &value, sizeof word);
    return word;
}

int main(void)
{
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = open("/dev/dri/renderD128", O_RDWR);
        if (fd < 0)
            usleep(100000); // the driver may still be probing
    }
    if (fd < 0)
        return fail("open /dev/dri/renderD128");

    uint64_t has3d = 0;
    struct drm_virtgpu_getparam param = { .param = VIRTGPU_PARAM_3D_FEATURES, .value = (uintptr_t)&has3d };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &param) != 0)
        return fail("GETPARAM");
    if (!has3d) {
        errno = ENODEV;
        return fail("3D features");
    }

    struct drm_virtgpu_resource_create create = {
        .target = PIPE_TEXTURE_2D, .format = VIRGL_FORMAT_B8G8R8A8_UNORM, .bind = VIRGL_BIND_RENDER_TARGET,
        .width = SIDE, .height = SIDE, .depth = 1, .array_size = 1, .size = SIDE * SIDE * 4, .stride = SIDE * 4,
    };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE, &create) != 0)
        return fail("RESOURCE_CREATE");

    // Surface 1 on the resource, the framebuffer on surface 1, then clear it to
    // red 1, green 0.5, blue 0.25, alpha 1.
    uint32_t stream[] = {
        header(VIRGL_CCMD_CREATE_OBJECT, VIRGL_OBJECT_SURFACE, 5), 1, create.res_handle, VIRGL_FORMAT_B8G8R8A8_UNORM, 0, 0,
        header(VIRGL_CCMD_SET_FRAMEBUFFER_STATE, 0, 3), 1, 0, 1,
        header(VIRGL_CCMD_CLEAR, 0, 8), PIPE_CLEAR_COLOR0, bits(1.0f), bits(0.5f), bits(0.25f), bits(1.0f), 0, 0, 0,
    };
    struct drm_virtgpu_execbuffer submit = {
        .size = sizeof stream, .command = (uintptr_t)stream, .bo_handles = (uintptr_t)&create.bo_handle, .num_bo_handles = 1,
    };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &submit) != 0)
        return fail("EXECBUFFER");

    struct drm_virtgpu_3d_transfer_from_host back = { .bo_handle = create.bo_handle, .box = { .w = SIDE, .h = SIDE, .d = 1 } };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST, &back) != 0)
        return fail("TRANSFER_FROM_HOST");
    struct drm_virtgpu_3d_wait wait = { .handle = create.bo_handle };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_WAIT, &wait) != 0)
        return fail("WAIT");

    struct drm_virtgpu_map map = { .handle = create.bo_handle };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_MAP, &map) != 0)
        return fail("MAP");
    const uint8_t *pixels = mmap(NULL, create.size, PROT_READ, MAP_SHARED, fd, (off_t)map.offset);
    if (pixels == MAP_FAILED)
        return fail("mmap");

    // B8G8R8A8: blue, green, red, alpha; the last pixel, so the whole box came back.
    const uint8_t *last = pixels + create.size - 4;
    int ok = (last[0] == 0x3f || last[0] == 0x40) && (last[1] == 0x7f || last[1] == 0x80) && last[2] == 0xff && last[3] == 0xff;
    printf("VIRGL-CLEAR %s pixel %02x %02x %02x %02x\n", ok ? "ok" : "FAIL wrong", last[0], last[1], last[2], last[3]);
    return ok ? 0 : 1;
}
