// How io_uring's completion-delivery setups compare on this kernel, for the I/O the blk engine
// does: 4 KiB random reads at a fixed depth, one ring used by one thread, which resubmits each
// finished read at once and otherwise waits in io_uring_enter. Built and run by
// bench/uring-taskrun.sh; prints one line: IOPS and io_uring_enter calls per I/O.
//
//   uring-taskrun FILE SETUP DEPTH SECONDS DIRECT
//   SETUP: default | coop (COOP_TASKRUN|TASKRUN_FLAG) | defer (SINGLE_ISSUER|DEFER_TASKRUN)
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// xorshift64: a block index spread over the file, no system call.
static uint64_t next_block(uint64_t *state, uint64_t blocks)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state % blocks;
}

static unsigned setup_flags(const char *name)
{
    if (strcmp(name, "default") == 0)
        return 0;
    if (strcmp(name, "coop") == 0)
        return IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    if (strcmp(name, "defer") == 0)
        return IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    fprintf(stderr, "unknown setup %s\n", name);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s FILE default|coop|defer DEPTH SECONDS DIRECT(0|1)\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    const char *setup = argv[2];
    int depth = atoi(argv[3]);
    double duration = atof(argv[4]);
    int direct = atoi(argv[5]);

    int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
    if (fd < 0) {
        perror(path);
        return 1;
    }
    uint64_t blocks = (uint64_t)lseek(fd, 0, SEEK_END) / 4096;
    if (depth < 1 || depth > 64 || blocks == 0) {
        fprintf(stderr, "depth 1-64 and a file of at least 4 KiB\n");
        return 2;
    }

    struct io_uring ring;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = setup_flags(setup);
    int error = io_uring_queue_init_params(64, &ring, &params);
    if (error < 0) {
        fprintf(stderr, "io_uring_setup (%s): %s\n", setup, strerror(-error));
        return 1;
    }

    char *buffers;
    if (posix_memalign((void **)&buffers, 4096, (size_t)depth * 4096) != 0)
        return 1;

    uint64_t state = 88172645463325252ULL;
    for (int slot = 0; slot < depth; slot++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd, buffers + (size_t)slot * 4096, 4096, next_block(&state, blocks) * 4096);
        sqe->user_data = (uint64_t)slot;
    }

    long completed = 0, enters = 0;
    double start = seconds_now(), end = start + duration;
    for (;;) {
        // One call both submits what was refilled and, when nothing is ready, waits for a completion.
        int submitted = io_uring_cq_ready(&ring) ? io_uring_submit(&ring) : io_uring_submit_and_wait(&ring, 1);
        if (submitted < 0) {
            fprintf(stderr, "io_uring_enter: %s\n", strerror(-submitted));
            return 1;
        }
        enters++;

        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&ring, head, cqe) {
            if (cqe->res != 4096) {
                fprintf(stderr, "read returned %d\n", cqe->res);
                return 1;
            }
            int slot = (int)cqe->user_data;
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            io_uring_prep_read(sqe, fd, buffers + (size_t)slot * 4096, 4096, next_block(&state, blocks) * 4096);
            sqe->user_data = (uint64_t)slot;
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
        completed += seen;
        if (seen && seconds_now() >= end)
            break;
    }

    double elapsed = seconds_now() - start;
    printf("%s depth %d %s: %.0f IOPS, %.2f io_uring_enter per I/O\n", setup, depth, direct ? "direct" : "buffered",
           completed / elapsed, (double)enters / completed);
    return 0;
}
