using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>
/// One io_uring instance, used from one thread: submission entries are filled in place in the
/// shared submission ring, published in a batch by <see cref="Submit"/>, and completions read
/// straight from the shared completion ring without a system call. Requires a kernel with
/// stable submissions (5.5+), so the iovec arrays an entry points at need to live only until
/// <see cref="Submit"/> returns.
/// </summary>
public sealed unsafe class IoUring : IDisposable
{
    // io_uring's system call numbers are the same on every architecture (the unified table, Linux 5.1).
    private const int SysSetup = 425;
    private const int SysEnter = 426;
    private const int SysRegister = 427;

    private const uint SetupRingDisabled = 1 << 6; // IORING_SETUP_R_DISABLED (Linux 5.10)
    private const uint RegisterRestrictions = 11; // IORING_REGISTER_RESTRICTIONS
    private const uint RegisterEnableRings = 12; // IORING_REGISTER_ENABLE_RINGS
    private const ushort RestrictionRegisterOp = 0; // IORING_RESTRICTION_REGISTER_OP
    private const ushort RestrictionSqeOp = 1; // IORING_RESTRICTION_SQE_OP
    private const ushort RestrictionSqeFlagsAllowed = 2; // IORING_RESTRICTION_SQE_FLAGS_ALLOWED

    private readonly int _fd;
    private readonly byte* _rings;
    private readonly ulong _ringsLength;
    private readonly io_uring_sqe* _sqes;
    private readonly ulong _sqesLength;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqFlags;
    private readonly bool _kernelPolled;
    private readonly uint _sqMask;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly io_uring_cqe* _cqes;
    private uint _sqFill;
    private uint _sqPublished;
    private bool _disposed;

    /// <summary>
    /// Creates a ring of <paramref name="entries"/> submission slots (a power of two) and twice as
    /// many completion slots. A <paramref name="disabled"/> ring takes no submissions until
    /// <see cref="RestrictTo"/> (registrations are still allowed). With a
    /// <paramref name="submissionPollCpu"/> (IORING_SETUP_SQPOLL), a kernel thread bound to that
    /// CPU takes published entries by itself, so a submission costs no system call while it is
    /// awake; it sleeps after <see cref="SubmissionPollIdleMs"/> without work.
    /// </summary>
    public IoUring(uint entries, bool disabled = false, int? submissionPollCpu = null)
    {
        io_uring_params setup = default;
        setup.flags = disabled ? SetupRingDisabled : 0;
        if (submissionPollCpu is { } cpu)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(submissionPollCpu));
            setup.flags |= IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;
            setup.sq_thread_cpu = (uint)cpu;
            setup.sq_thread_idle = SubmissionPollIdleMs;
            _kernelPolled = true;
        }

        _fd = (int)syscall(SysSetup, entries, &setup);
        if (_fd < 0)
        {
            throw Errno.Exception("io_uring_setup");
        }

        try
        {
            const uint needed = 1 /* SINGLE_MMAP */ | 2 /* NODROP */ | 4 /* SUBMIT_STABLE */;
            if ((setup.features & needed) != needed)
            {
                throw new PlatformNotSupportedException($"io_uring lacks single-mmap, no-drop or stable submissions (features 0x{setup.features:x}); kernel 5.5 or later is needed.");
            }

            SubmissionEntries = setup.sq_entries;
            var sqLength = setup.sq_off.array + (setup.sq_entries * sizeof(uint));
            var cqLength = setup.cq_off.cqes + (setup.cq_entries * (uint)sizeof(io_uring_cqe));
            _ringsLength = Math.Max(sqLength, cqLength);
            _rings = Map(_ringsLength, IORING_OFF_SQ_RING);
            _sqesLength = setup.sq_entries * (ulong)sizeof(io_uring_sqe);
            _sqes = (io_uring_sqe*)Map(_sqesLength, IORING_OFF_SQES);

            _sqHead = (uint*)(_rings + setup.sq_off.head);
            _sqTail = (uint*)(_rings + setup.sq_off.tail);
            _sqFlags = (uint*)(_rings + setup.sq_off.flags);
            _sqMask = *(uint*)(_rings + setup.sq_off.ring_mask);
            _cqHead = (uint*)(_rings + setup.cq_off.head);
            _cqTail = (uint*)(_rings + setup.cq_off.tail);
            _cqMask = *(uint*)(_rings + setup.cq_off.ring_mask);
            _cqes = (io_uring_cqe*)(_rings + setup.cq_off.cqes);

            // Entries are always used in ring order, so the index array is the identity, set once.
            var array = (uint*)(_rings + setup.sq_off.array);
            for (uint i = 0; i < setup.sq_entries; i++)
            {
                array[i] = i;
            }

            _sqFill = _sqPublished = *_sqTail;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>How long the kernel's submission thread polls without work before it sleeps.</summary>
    public const uint SubmissionPollIdleMs = 100;

    /// <summary>Submission slots; more entries than this cannot wait for one <see cref="Submit"/>.</summary>
    public uint SubmissionEntries { get; }

    /// <summary>
    /// Whether the kernel has taken every entry filled so far (and, with stable submissions, copied
    /// what they point at, such as iovec arrays). After a <see cref="Submit"/> that returned true
    /// this holds at once, except on a kernel-polled ring, whose thread takes entries in its own time.
    /// </summary>
    public bool Consumed => Volatile.Read(ref *_sqHead) == _sqFill;

    /// <summary>
    /// Returns the next free submission entry, cleared, or null when every slot waits for the
    /// kernel (call <see cref="Submit"/> first). It is handed to the kernel by the next Submit.
    /// </summary>
    public io_uring_sqe* TryGetEntry()
    {
        var head = Volatile.Read(ref *_sqHead);
        if (unchecked(_sqFill - head) >= SubmissionEntries)
        {
            return null;
        }

        var sqe = &_sqes[_sqFill & _sqMask];
        *sqe = default;
        _sqFill = unchecked(_sqFill + 1);
        return sqe;
    }

    /// <summary>
    /// Hands the filled entries to the kernel and, with <paramref name="waitFor"/> &gt; 0, waits
    /// until that many completions are ready. Returns false when the kernel is short of resources
    /// (EAGAIN/EBUSY): the entries stay queued for the next call.
    /// </summary>
    public bool Submit(uint waitFor = 0)
    {
        // Release: the entries' contents must be visible before the tail that publishes them.
        Volatile.Write(ref *_sqTail, _sqFill);
        if (_kernelPolled)
        {
            return WakeSubmissionThread(waitFor);
        }

        var toSubmit = unchecked(_sqFill - _sqPublished);
        if (toSubmit == 0 && waitFor == 0)
        {
            return true;
        }

        while (true)
        {
            var flags = waitFor > 0 ? IORING_ENTER_GETEVENTS : 0;
            var done = (int)syscall(SysEnter, _fd, toSubmit, waitFor, flags, null, 0);
            if (done >= 0)
            {
                _sqPublished = unchecked(_sqPublished + (uint)done);
                if ((uint)done == toSubmit || waitFor > 0)
                {
                    return true;
                }

                toSubmit -= (uint)done;
                continue;
            }

            var error = errno;
            if (error == EINTR)
            {
                continue;
            }

            if (error == EAGAIN || error == EBUSY)
            {
                return false;
            }

            throw Errno.Exception("io_uring_enter", error);
        }
    }

    /// <summary>
    /// On a kernel-polled ring the tail store is the submission; a system call is needed only to
    /// wake the thread after it went idle, or to wait for completions.
    /// </summary>
    private bool WakeSubmissionThread(uint waitFor)
    {
        _sqPublished = _sqFill;

        // Full fence: the tail store must be visible before the flag is read, or the thread could
        // go to sleep after missing the new tail while this side reads the flag as still awake.
        Interlocked.MemoryBarrier();
        var asleep = (Volatile.Read(ref *_sqFlags) & IORING_SQ_NEED_WAKEUP) != 0;
        if (!asleep && waitFor == 0)
        {
            return true;
        }

        var flags = (asleep ? IORING_ENTER_SQ_WAKEUP : 0) | (waitFor > 0 ? IORING_ENTER_GETEVENTS : 0);
        while ((int)syscall(SysEnter, _fd, 0, waitFor, flags, null, 0) < 0)
        {
            var error = errno;
            if (error == EAGAIN || error == EBUSY)
            {
                return false;
            }

            if (error != EINTR)
            {
                throw Errno.Exception("io_uring_enter", error);
            }
        }

        return true;
    }

    /// <summary>Takes the next completion, if one is ready.</summary>
    public bool TryTakeCompletion(out ulong userData, out int result)
    {
        var head = *_cqHead;

        // Acquire: the completion's contents are read only after the tail that published them.
        if (head == Volatile.Read(ref *_cqTail))
        {
            userData = 0;
            result = 0;
            return false;
        }

        var cqe = &_cqes[head & _cqMask];
        userData = cqe->user_data;
        result = cqe->res;

        // Release: the slot is ours until the new head says otherwise.
        Volatile.Write(ref *_cqHead, unchecked(head + 1));
        return true;
    }

    /// <summary>Has the kernel signal <paramref name="eventFd"/> for every completion it posts.</summary>
    public void RegisterEventFd(int eventFd) => Register(IORING_REGISTER_EVENTFD, &eventFd, 1, "IORING_REGISTER_EVENTFD");

    /// <summary>Registers <paramref name="fds"/>; an entry with IOSQE_FIXED_FILE then names a file by its index here.</summary>
    public void RegisterFiles(ReadOnlySpan<int> fds)
    {
        fixed (int* p = fds)
        {
            Register(IORING_REGISTER_FILES, p, (uint)fds.Length, "IORING_REGISTER_FILES");
        }
    }

    /// <summary>
    /// Registers <paramref name="buffers"/> (each at most <see cref="MaxFixedBuffer"/> bytes) in
    /// place of any registered before: an IORING_OP_READ_FIXED or WRITE_FIXED entry then names one
    /// by its index in buf_index and must lie inside it. The kernel pins their pages once, instead
    /// of resolving the addresses on every operation, and holds them until they are replaced or
    /// the ring is closed (an operation in flight keeps its own). Returns 0, or the errno: ENOMEM
    /// past RLIMIT_MEMLOCK without CAP_IPC_LOCK, EFAULT or EOPNOTSUPP for memory the kernel will
    /// not pin; the ring then goes on with no fixed buffers.
    /// </summary>
    public int TryRegisterBuffers(ReadOnlySpan<iovec> buffers)
    {
        UnregisterBuffers();
        if (buffers.IsEmpty)
        {
            return 0;
        }

        fixed (iovec* p = buffers)
        {
            return (int)syscall(SysRegister, _fd, IORING_REGISTER_BUFFERS, p, (uint)buffers.Length) < 0 ? errno : 0;
        }
    }

    /// <summary>The largest buffer <see cref="TryRegisterBuffers"/> takes (the kernel's limit, 1 GiB).</summary>
    public const ulong MaxFixedBuffer = 1UL << 30;

    /// <summary>Drops the registered buffers, if any.</summary>
    private void UnregisterBuffers()
    {
        if ((int)syscall(SysRegister, _fd, IORING_UNREGISTER_BUFFERS, null, 0) < 0 && errno != ENXIO)
        {
            throw Errno.Exception("IORING_UNREGISTER_BUFFERS");
        }
    }

    /// <summary>
    /// Limits a ring created disabled, for good, to the submission <paramref name="opcodes"/> and
    /// <paramref name="flags"/> given and, if <paramref name="buffers"/>, to registering buffers
    /// (<see cref="TryRegisterBuffers"/>), then enables it. io_uring's operations do not pass
    /// through seccomp: a ring that can only do what its engine does cannot be turned to opening
    /// files, connecting or sending. Anything else completes with -EACCES.
    /// </summary>
    public void RestrictTo(ReadOnlySpan<byte> opcodes, byte flags, bool buffers = false)
    {
        // struct io_uring_restriction: u16 opcode, u8 register_op, sqe_op or sqe_flags, u8 and 3 u32 reserved.
        byte[] registrations = buffers ? [(byte)IORING_REGISTER_BUFFERS, (byte)IORING_UNREGISTER_BUFFERS] : [];
        var count = opcodes.Length + 1 + registrations.Length;
        var restrictions = stackalloc byte[16 * count];
        new Span<byte>(restrictions, 16 * count).Clear();
        var at = restrictions;
        foreach (var opcode in opcodes)
        {
            *(ushort*)at = RestrictionSqeOp;
            at[2] = opcode;
            at += 16;
        }

        *(ushort*)at = RestrictionSqeFlagsAllowed;
        at[2] = flags;
        at += 16;
        foreach (var registration in registrations)
        {
            *(ushort*)at = RestrictionRegisterOp;
            at[2] = registration;
            at += 16;
        }

        Register(RegisterRestrictions, restrictions, (uint)count, "IORING_REGISTER_RESTRICTIONS");
        Register(RegisterEnableRings, null, 0, "IORING_REGISTER_ENABLE_RINGS");
    }

    private void Register(uint opcode, void* argument, uint count, string what)
    {
        if ((int)syscall(SysRegister, _fd, opcode, argument, count) < 0)
        {
            throw Errno.Exception(what);
        }
    }

    private byte* Map(ulong length, ulong offset)
    {
        var p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, _fd, (off_t)(long)offset);
        return p == MAP_FAILED ? throw Errno.Exception("mmap(io_uring)") : (byte*)p;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_sqes != null)
        {
            Mapping.Unmap((byte*)_sqes, _sqesLength);
        }

        if (_rings != null)
        {
            Mapping.Unmap(_rings, _ringsLength);
        }

        _ = close(_fd);
    }
}
