namespace IoVirt.Sandbox;

/// <summary>
/// The system calls a confined back end makes once serving, on x86-64: what the .NET runtime
/// (JIT, GC, thread pool, signal handling) and IoVirt's data path use, learned by running the
/// daemons' QEMU, DPDK and soak workloads under <c>--seccomp log</c> (see bench/README.md).
/// Absent on purpose: creating, binding and connecting sockets (everything is open before the
/// filter goes on), execve, mount and namespace calls, ptrace, chmod/chown, set*id, module,
/// BPF and perf calls. Some are narrowed by argument: signals only to this process, clone
/// without new namespaces, prctl only for thread names and dumpability, prlimit64 only to read.
/// </summary>
public static class SyscallAllowlist
{
    /// <summary>CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET.</summary>
    public const uint NewNamespaceFlags = 0x7E020000;

    private const int ENOSYS = 38;

    /// <summary>The prctl options the runtime uses on its threads.</summary>
    private static readonly uint[] PrctlOptions =
    [
        3, // PR_GET_DUMPABLE
        4, // PR_SET_DUMPABLE
        15, // PR_SET_NAME
        16, // PR_GET_NAME
        0x53564d41, // PR_SET_VMA (names anonymous mappings)
    ];

    /// <summary>
    /// The ioctl requests made once serving: the terminal queries of the console and the runtime,
    /// FIONREAD/FIONBIO/FIOCLEX on descriptors, a TAP's offloads and header size (set when a
    /// guest negotiates), and the block-device size queries of an image opened again.
    /// </summary>
    private static readonly uint[] IoctlRequests =
    [
        0x5401, // TCGETS
        0x5413, // TIOCGWINSZ
        0x541B, // FIONREAD
        0x5421, // FIONBIO
        0x5451, // FIOCLEX
        0x400454d0, // TUNSETOFFLOAD
        0x400454d8, // TUNSETVNETHDRSZ
        0x80081272, // BLKGETSIZE64
        0x1268, // BLKSSZGET
        0x127b, // BLKPBSZGET
    ];

    private static readonly (string Name, uint Number)[] Allowed =
    [
        ("read", 0), ("write", 1), ("close", 3), ("stat", 4), ("fstat", 5), ("lstat", 6), ("poll", 7), ("lseek", 8),
        ("mmap", 9), ("mprotect", 10), ("munmap", 11), ("brk", 12), ("rt_sigaction", 13), ("rt_sigprocmask", 14),
        ("rt_sigreturn", 15), ("pread64", 17), ("pwrite64", 18), ("readv", 19), ("writev", 20),
        ("access", 21), ("sched_yield", 24), ("mremap", 25), ("msync", 26), ("mincore", 27), ("madvise", 28),
        ("dup", 32), ("dup2", 33), ("nanosleep", 35), ("getpid", 39), ("sendto", 44), ("recvfrom", 45),
        ("sendmsg", 46), ("recvmsg", 47), ("shutdown", 48), ("getsockname", 51), ("getpeername", 52),
        ("setsockopt", 54), ("getsockopt", 55), ("exit", 60), ("uname", 63), ("fcntl", 72), ("flock", 73),
        ("fsync", 74), ("fdatasync", 75), ("ftruncate", 77), ("getcwd", 79), ("unlink", 87), ("readlink", 89),
        ("getrlimit", 97), ("getrusage", 98), ("sysinfo", 99), ("times", 100), ("getuid", 102), ("getgid", 104),
        ("geteuid", 107), ("getegid", 108), ("getppid", 110), ("getpgrp", 111), ("getsid", 124), ("sigaltstack", 131),
        ("statfs", 137), ("fstatfs", 138), ("sched_getparam", 143), ("sched_setscheduler", 144),
        ("sched_getscheduler", 145), ("sched_get_priority_max", 146), ("sched_get_priority_min", 147),
        ("arch_prctl", 158), ("gettid", 186), ("futex", 202), ("sched_setaffinity", 203), ("sched_getaffinity", 204),
        ("getdents64", 217), ("set_tid_address", 218), ("restart_syscall", 219), ("clock_gettime", 228),
        ("clock_getres", 229), ("clock_nanosleep", 230), ("exit_group", 231), ("epoll_wait", 232), ("epoll_ctl", 233),
        ("get_mempolicy", 239), ("openat", 257), ("newfstatat", 262), ("unlinkat", 263), ("readlinkat", 267),
        ("faccessat", 269), ("pselect6", 270), ("ppoll", 271), ("set_robust_list", 273), ("get_robust_list", 274),
        ("epoll_pwait", 281), ("fallocate", 285), ("accept4", 288), ("eventfd2", 290), ("epoll_create1", 291),
        ("dup3", 292), ("pipe2", 293), ("preadv", 295), ("pwritev", 296), ("getrandom", 318), ("memfd_create", 319),
        ("membarrier", 324), ("preadv2", 327), ("pwritev2", 328), ("statx", 332), ("rseq", 334),
        ("io_uring_setup", 425), ("io_uring_enter", 426), ("io_uring_register", 427), ("close_range", 436),
        ("faccessat2", 439), ("epoll_pwait2", 441),
    ];

    /// <summary>AF_INET and AF_INET6: the socket domains of a process that <see cref="NetworkAccess.Connects"/>.</summary>
    private static readonly uint[] InternetDomains = [2, 10];

    /// <summary>
    /// The rules for a process whose id is <paramref name="processId"/> (signals may go only to
    /// it); one that <paramref name="connects"/> may also make internet sockets and connect them.
    /// </summary>
    public static IReadOnlyList<SyscallRule> For(int processId, bool connects = false)
    {
        var self = (uint)processId;
        var rules = Allowed.Select(call => SyscallRule.Allow(call.Name, call.Number)).ToList();
        rules.Add(new("clone", 56, new SyscallCheck.ArgumentWithout(0, NewNamespaceFlags)));

        // clone3 passes its flags in memory, out of a filter's sight: ENOSYS makes glibc use clone.
        rules.Add(new("clone3", 435, new SyscallCheck.Refused(ENOSYS)));
        rules.Add(new("kill", 62, new SyscallCheck.ArgumentIn(0, [self])));
        rules.Add(new("tgkill", 234, new SyscallCheck.ArgumentIn(0, [self])));
        rules.Add(new("ioctl", 16, new SyscallCheck.ArgumentIn(1, IoctlRequests)));
        rules.Add(new("prctl", 157, new SyscallCheck.ArgumentIn(0, PrctlOptions)));

        // Reading limits passes a null new limit (only the low word can be checked).
        rules.Add(new("prlimit64", 302, new SyscallCheck.ArgumentIn(2, [0])));
        if (connects)
        {
            rules.Add(new("socket", 41, new SyscallCheck.ArgumentIn(0, InternetDomains)));
            rules.Add(SyscallRule.Allow("connect", 42));
        }

        return rules;
    }
}
