/*
 * The test guest's vsock client: connects to the host (CID 2) on the port given, writes the text
 * given, reads as many bytes back and prints them as "VSOCK-BACK <text>". For the out-of-tree
 * consumer's echo device (tests/consumer/EchoVsock), which Linux's virtio vsock transport drives.
 */
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vsock-echo PORT TEXT\n");
        return 2;
    }

    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm host = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)atoi(argv[1]) };
    if (s < 0 || connect(s, (struct sockaddr *)&host, sizeof host) != 0) {
        perror("vsock-echo: connect");
        return 1;
    }

    size_t length = strlen(argv[2]);
    if (write(s, argv[2], length) != (ssize_t)length) {
        perror("vsock-echo: write");
        return 1;
    }

    char *back = malloc(length);
    if (back == NULL) {
        perror("vsock-echo: malloc");
        return 1;
    }

    size_t got = 0;
    while (got < length) {
        ssize_t n = read(s, back + got, length - got);
        if (n <= 0) {
            perror("vsock-echo: read");
            return 1;
        }
        got += (size_t)n;
    }

    printf("VSOCK-BACK %.*s\n", (int)got, back);
    close(s);
    return 0;
}
