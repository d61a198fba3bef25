using System.Runtime.CompilerServices;
using IoVirt.Abi.Kvm;
using IoVirt.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Hypervisor.Kvm;

/// <summary>A KVM vCPU and its mapped kvm_run page.</summary>
internal sealed unsafe class KvmVcpu : IVcpu
{
    private const int LapicLvtLint0 = 0x350;
    private const int LapicLvtLint1 = 0x360;
    private const uint DeliveryModeMask = 0x700;
    private const uint DeliveryExtInt = 0x700;
    private const uint DeliveryNmi = 0x400;

    /// <summary>
    /// What <see cref="Kick"/> sends the running thread. That thread blocks it everywhere but inside
    /// KVM_RUN (KVM_SET_SIGNAL_MASK), so it only ends a KVM_RUN: no handler ever runs, and a
    /// pending one is taken back with sigtimedwait before the next.
    /// </summary>
    private static readonly int KickSignal = SIGUSR2;

    private readonly KvmFd _fd;
    private readonly KvmRun* _run;
    private readonly int _runSize;
    private int _exitDataLength;
    private byte* _exitData;
    private nuint _thread;
    private volatile bool _kickable;

    public KvmVcpu(int id, KvmFd fd, int runSize)
    {
        Id = id;
        _fd = fd;
        _runSize = runSize;
        var mapping = mmap(null, (size_t)(ulong)runSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.Fd, 0);
        if (mapping == MAP_FAILED)
        {
            var error = Errno.Exception("mmap kvm_run");
            fd.Dispose();
            throw error;
        }

        _run = (KvmRun*)mapping;
    }

    public int Id { get; }

    public Span<byte> ExitData => new(_exitData, _exitDataLength);

    public VcpuExit Run()
    {
        if (!_kickable)
        {
            AcceptKicks();
        }

        _exitDataLength = 0;
        var result = _fd.TryCall(KvmIoctl.Run, null);
        if (result < 0)
        {
            if (-result == EINTR)
            {
                TakeBackKick();
            }

            return -result == EINTR || -result == EAGAIN
                ? new VcpuExit(VcpuExitKind.Interrupted)
                : throw Errno.Exception("KVM_RUN", -result);
        }

        switch (_run->ExitReason)
        {
            case KvmExitReason.Io:
                ref var io = ref _run->Io;
                var length = checked(io.Size * (int)io.Count);
                if (io.DataOffset + (ulong)length > (ulong)_runSize)
                {
                    return new VcpuExit(VcpuExitKind.Failed, Detail: io.DataOffset);
                }

                _exitData = (byte*)_run + io.DataOffset;
                _exitDataLength = length;
                return new VcpuExit(io.Direction == KvmRunIo.Out ? VcpuExitKind.IoOut : VcpuExitKind.IoIn, io.Port, io.Size, (int)io.Count);
            case KvmExitReason.Mmio:
                ref var mmio = ref _run->Mmio;
                _exitData = (byte*)Unsafe.AsPointer(ref mmio.Data[0]);
                _exitDataLength = (int)Math.Min(mmio.Len, 8u);
                return new VcpuExit(mmio.IsWrite != 0 ? VcpuExitKind.MmioWrite : VcpuExitKind.MmioRead, mmio.PhysAddr, _exitDataLength);
            case KvmExitReason.Hlt:
                return new VcpuExit(VcpuExitKind.Halt);
            case KvmExitReason.Shutdown:
                return new VcpuExit(VcpuExitKind.Shutdown);
            case KvmExitReason.Intr:
                return new VcpuExit(VcpuExitKind.Interrupted);
            case KvmExitReason.SystemEvent:
                return _run->SystemEvent.Type switch
                {
                    KvmSystemEvent.Reset => new VcpuExit(VcpuExitKind.Reset),
                    KvmSystemEvent.Crash => new VcpuExit(VcpuExitKind.Crash),
                    _ => new VcpuExit(VcpuExitKind.Shutdown),
                };
            case KvmExitReason.FailEntry:
                return new VcpuExit(VcpuExitKind.Failed, Detail: _run->FailEntry.HardwareEntryFailureReason);
            case KvmExitReason.InternalError:
                return new VcpuExit(VcpuExitKind.Failed, Detail: _run->Internal.Suberror);
            default:
                return new VcpuExit(VcpuExitKind.Failed, Detail: (ulong)_run->ExitReason);
        }
    }

    public void Kick()
    {
        _ = _fd.Fd; // throws once disposed, before the unmapped page is touched
        Volatile.Write(ref _run->ImmediateExit, 1);
        if (_kickable)
        {
            _ = PosixThread.Kill(_thread, KickSignal);
        }
    }

    /// <summary>
    /// On the running thread, once: blocks <see cref="KickSignal"/> in it and has KVM unblock it
    /// only while the guest runs, so a kick that arrives then ends KVM_RUN with EINTR.
    /// </summary>
    private void AcceptKicks()
    {
        var kick = KickSet();
        sigset_t previous;
        if (PosixThread.SignalMask(SIG_BLOCK, &kick, &previous) is var error and not 0)
        {
            throw Errno.Exception("pthread_sigmask", error);
        }

        // The mask KVM applies during KVM_RUN: the thread's own, with the kick let through even if
        // the thread was born with it blocked.
        _ = sigdelset(&previous, KickSignal);
        var mask = stackalloc byte[KvmSignalMask.HeaderSize + KvmSignalMask.KernelSigsetSize];
        ((KvmSignalMask*)mask)->Length = KvmSignalMask.KernelSigsetSize;
        new ReadOnlySpan<byte>(&previous, KvmSignalMask.KernelSigsetSize).CopyTo(new Span<byte>(mask + KvmSignalMask.HeaderSize, KvmSignalMask.KernelSigsetSize));
        _fd.Call(KvmIoctl.SetSignalMask, mask, "KVM_SET_SIGNAL_MASK");
        _thread = PosixThread.Self();
        _kickable = true;
    }

    /// <summary>After KVM_RUN returned EINTR: clears immediate_exit and takes the kick's signal if it is pending, so the next KVM_RUN runs.</summary>
    private void TakeBackKick()
    {
        Volatile.Write(ref _run->ImmediateExit, 0);
        var kick = KickSet();
        var now = default(timespec);
        _ = sigtimedwait(&kick, null, &now);
    }

    /// <summary>The set holding only <see cref="KickSignal"/>.</summary>
    private static sigset_t KickSet()
    {
        sigset_t set;
        _ = sigemptyset(&set);
        _ = sigaddset(&set, KickSignal);
        return set;
    }

    public X86Registers GetRegisters()
    {
        KvmRegs regs;
        _fd.Call(KvmIoctl.GetRegs, &regs, "KVM_GET_REGS");
        return KvmConvert.ToRegisters(regs);
    }

    public void SetRegisters(in X86Registers registers)
    {
        var regs = KvmConvert.FromRegisters(registers);
        _fd.Call(KvmIoctl.SetRegs, &regs, "KVM_SET_REGS");
    }

    public X86SpecialRegisters GetSpecialRegisters()
    {
        KvmSregs sregs;
        _fd.Call(KvmIoctl.GetSregs, &sregs, "KVM_GET_SREGS");
        return KvmConvert.ToSpecial(sregs);
    }

    public void SetSpecialRegisters(in X86SpecialRegisters registers)
    {
        KvmSregs sregs;
        _fd.Call(KvmIoctl.GetSregs, &sregs, "KVM_GET_SREGS");
        KvmConvert.FromSpecial(registers, ref sregs);
        _fd.Call(KvmIoctl.SetSregs, &sregs, "KVM_SET_SREGS");
    }

    public void SetFpuControl(ushort controlWord, uint mxcsr)
    {
        var fpu = new KvmFpu { Fcw = controlWord, Mxcsr = mxcsr };
        _fd.Call(KvmIoctl.SetFpu, &fpu, "KVM_SET_FPU");
    }

    public void SetCpuid(IReadOnlyList<CpuidEntry> entries)
    {
        var buffer = new byte[KvmCpuid2.HeaderSize + (entries.Count * Unsafe.SizeOf<KvmCpuidEntry2>())];
        fixed (byte* p = buffer)
        {
            ((KvmCpuid2*)p)->Count = (uint)entries.Count;
            var target = new Span<KvmCpuidEntry2>(p + KvmCpuid2.HeaderSize, entries.Count);
            for (var i = 0; i < entries.Count; i++)
            {
                target[i] = KvmConvert.FromCpuid(entries[i]);
            }

            _fd.Call(KvmIoctl.SetCpuid2, p, "KVM_SET_CPUID2");
        }
    }

    public void SetXcr0(ulong value)
    {
        var xcrs = new KvmXcrs { Count = 1 };
        xcrs.Xcrs[0] = new KvmXcr { Xcr = 0, Value = value };
        _fd.Call(KvmIoctl.SetXcrs, &xcrs, "KVM_SET_XCRS");
    }

    public void SetMsrs(ReadOnlySpan<(uint Index, ulong Value)> msrs)
    {
        var buffer = new byte[KvmMsrs.HeaderSize + (msrs.Length * Unsafe.SizeOf<KvmMsrEntry>())];
        fixed (byte* p = buffer)
        {
            ((KvmMsrs*)p)->Count = (uint)msrs.Length;
            var target = new Span<KvmMsrEntry>(p + KvmMsrs.HeaderSize, msrs.Length);
            for (var i = 0; i < msrs.Length; i++)
            {
                target[i] = new KvmMsrEntry { Index = msrs[i].Index, Data = msrs[i].Value };
            }

            var written = _fd.Call(KvmIoctl.SetMsrs, p, "KVM_SET_MSRS");
            if (written != msrs.Length)
            {
                throw new InvalidOperationException($"KVM_SET_MSRS refused MSR 0x{msrs[written].Index:x}");
            }
        }
    }

    public void SetLegacyLocalInterrupts()
    {
        KvmLapicState lapic;
        _fd.Call(KvmIoctl.GetLapic, &lapic, "KVM_GET_LAPIC");
        var registers = (Span<byte>)lapic.Regs;
        SetDeliveryMode(registers, LapicLvtLint0, DeliveryExtInt);
        SetDeliveryMode(registers, LapicLvtLint1, DeliveryNmi);
        _fd.Call(KvmIoctl.SetLapic, &lapic, "KVM_SET_LAPIC");
    }

    public void Dispose()
    {
        _ = munmap(_run, (size_t)(ulong)_runSize);
        _fd.Dispose();
    }

    private static void SetDeliveryMode(Span<byte> registers, int offset, uint mode)
    {
        var slot = registers.Slice(offset, sizeof(uint));
        var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(slot);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(slot, (value & ~DeliveryModeMask) | mode);
    }
}
