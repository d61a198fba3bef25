using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>
/// The start of struct kvm_run, the page a vCPU shares with its VMM (mmap of the vCPU fd): the
/// exit reason and the union that describes the exit, at offset 32. The rest (sync registers) is
/// not used, so this struct is never copied, only read through a pointer to the mapping.
/// </summary>
[StructLayout(LayoutKind.Explicit)]
public struct KvmRun
{
    /// <summary>Where the exit union begins.</summary>
    public const int ExitOffset = 32;

    [FieldOffset(0)] public byte RequestInterruptWindow;
    /// <summary>Set to 1 to make the next KVM_RUN (or the one under way, on a signal) return at once with <see cref="KvmExitReason.Intr"/>.</summary>
    [FieldOffset(1)] public byte ImmediateExit;
    [FieldOffset(8)] public KvmExitReason ExitReason;
    [FieldOffset(12)] public byte ReadyForInterruptInjection;
    [FieldOffset(13)] public byte IfFlag;
    [FieldOffset(14)] public ushort Flags;
    [FieldOffset(16)] public ulong Cr8;
    [FieldOffset(24)] public ulong ApicBase;

    [FieldOffset(ExitOffset)] public KvmRunHardware Hardware;
    [FieldOffset(ExitOffset)] public KvmRunFailEntry FailEntry;
    [FieldOffset(ExitOffset)] public KvmRunIo Io;
    [FieldOffset(ExitOffset)] public KvmRunMmio Mmio;
    [FieldOffset(ExitOffset)] public KvmRunInternal Internal;
    [FieldOffset(ExitOffset)] public KvmRunSystemEvent SystemEvent;
}

/// <summary>kvm_run.hw, for <see cref="KvmExitReason.Unknown"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRunHardware
{
    public ulong HardwareExitReason;
}

/// <summary>kvm_run.fail_entry, for <see cref="KvmExitReason.FailEntry"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRunFailEntry
{
    public ulong HardwareEntryFailureReason;
    public uint Cpu;
}

/// <summary>
/// kvm_run.io, for <see cref="KvmExitReason.Io"/>: <see cref="Count"/> accesses of
/// <see cref="Size"/> bytes each, whose data lies in the kvm_run page at <see cref="DataOffset"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRunIo
{
    /// <summary>KVM_EXIT_IO_IN and KVM_EXIT_IO_OUT.</summary>
    public const byte In = 0, Out = 1;

    public byte Direction;
    public byte Size;
    public ushort Port;
    public uint Count;
    public ulong DataOffset;
}

/// <summary>kvm_run.mmio, for <see cref="KvmExitReason.Mmio"/>: up to 8 bytes, inline.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRunMmio
{
    public ulong PhysAddr;
    public KvmBytes8 Data;
    public uint Len;
    public byte IsWrite;
}

/// <summary>kvm_run.internal, for <see cref="KvmExitReason.InternalError"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRunInternal
{
    /// <summary>KVM_INTERNAL_ERROR_*: 1 emulation, 2 simultaneous exceptions, 3 delivery, 4 unexpected exit.</summary>
    public uint Suberror;
    public uint Ndata;
    public KvmUInt64x16 Data;
}

/// <summary>kvm_run.system_event, for <see cref="KvmExitReason.SystemEvent"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRunSystemEvent
{
    public KvmSystemEvent Type;
    public uint Ndata;
    public KvmUInt64x16 Data;
}
