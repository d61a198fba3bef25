/*
 * badrange: a FUSE file system that is one file, mounted over a regular file (MOUNTPOINT), whose
 * bytes live in another file (BACKING) and whose reads and writes touching chosen ranges fail
 * with EIO, as a disk's bad sectors do. For the storage fault tests: real kernel I/O errors with
 * no device-mapper needed, and files beside the image (a mux's volume table) stay ordinary.
 *
 *   badrange BACKING START:LENGTH[,START:LENGTH...] MOUNTPOINT [fuse options]
 *
 * Runs in the foreground until unmounted (fusermount3 -u MOUNTPOINT).
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RANGES 16

static int backing = -1;
static struct { off_t start, end; } bad[MAX_RANGES];
static int bad_count;

static int touches_bad(off_t offset, size_t size)
{
    for (int i = 0; i < bad_count; i++)
        if (offset < bad[i].end && bad[i].start < offset + (off_t)size)
            return 1;
    return 0;
}

static int is_image(const char *path) { return strcmp(path, "/") == 0; }

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)fi;
    memset(st, 0, sizeof *st);
    if (!is_image(path))
        return -ENOENT;
    struct stat real;
    if (fstat(backing, &real) != 0)
        return -errno;
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
    st->st_size = real.st_size;
    st->st_blocks = real.st_blocks;
    return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    if (!is_image(path))
        return -ENOENT;
    fi->direct_io = 1; /* every read and write reaches us: no page cache hides a bad range */
    return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)path; (void)fi;
    if (touches_bad(offset, size))
        return -EIO;
    ssize_t n = pread(backing, buf, size, offset);
    return n < 0 ? -errno : (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)path; (void)fi;
    if (touches_bad(offset, size))
        return -EIO;
    ssize_t n = pwrite(backing, buf, size, offset);
    return n < 0 ? -errno : (int)n;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path; (void)fi;
    return (datasync ? fdatasync(backing) : fsync(backing)) == 0 ? 0 : -errno;
}

static int fs_fallocate(const char *path, int mode, off_t offset, off_t length, struct fuse_file_info *fi)
{
    (void)path; (void)fi;
    return fallocate(backing, mode, offset, length) == 0 ? 0 : -errno;
}

static const struct fuse_operations operations = {
    .fallocate = fs_fallocate,
    .getattr = fs_getattr,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .fsync = fs_fsync,
};

int main(int argc, char *argv[])
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s BACKING START:LENGTH[,...] MOUNTPOINT [fuse options]\n", argv[0]);
        return 2;
    }
    backing = open(argv[1], O_RDWR | O_CLOEXEC);
    if (backing < 0) {
        perror(argv[1]);
        return 1;
    }
    for (char *range = strtok(argv[2], ","); range != NULL && bad_count < MAX_RANGES; range = strtok(NULL, ",")) {
        long long start, length;
        if (sscanf(range, "%lld:%lld", &start, &length) != 2 || start < 0 || length <= 0) {
            fprintf(stderr, "bad range '%s'\n", range);
            return 2;
        }
        bad[bad_count].start = start;
        bad[bad_count].end = start + length;
        bad_count++;
    }
    /* fuse_main sees: program, mountpoint, its options, and -f (foreground). */
    char *args[32];
    int n = 0;
    args[n++] = argv[0];
    for (int i = 3; i < argc && n < 30; i++)
        args[n++] = argv[i];
    args[n++] = "-f";
    return fuse_main(n, args, &operations, NULL);
}
