using System.Runtime.CompilerServices;

namespace IoVirt.Abi.Kvm;

/// <summary>The KVM ioctl requests IoVirt makes (linux/kvm.h, type 0xAE).</summary>
public static class KvmIoctl
{
    private const uint Kvm = 0xAE;

    // On /dev/kvm.
    public static readonly uint GetApiVersion = Ioctl.None(Kvm, 0x00);
    public static readonly uint CreateVm = Ioctl.None(Kvm, 0x01);
    public static readonly uint CheckExtension = Ioctl.None(Kvm, 0x03);
    public static readonly uint GetVcpuMmapSize = Ioctl.None(Kvm, 0x04);
    public static readonly uint GetSupportedCpuid = Ioctl.InOut(Kvm, 0x05, KvmCpuid2.HeaderSize);

    // On a VM.
    public static readonly uint CreateVcpu = Ioctl.None(Kvm, 0x41);
    public static readonly uint SetUserMemoryRegion = Ioctl.In(Kvm, 0x46, Unsafe.SizeOf<KvmUserspaceMemoryRegion>());
    public static readonly uint SetTssAddr = Ioctl.None(Kvm, 0x47);
    public static readonly uint SetIdentityMapAddr = Ioctl.In(Kvm, 0x48, sizeof(ulong));
    public static readonly uint CreateIrqchip = Ioctl.None(Kvm, 0x60);
    public static readonly uint IrqLine = Ioctl.In(Kvm, 0x61, Unsafe.SizeOf<KvmIrqLevel>());
    public static readonly uint SetGsiRouting = Ioctl.In(Kvm, 0x6a, KvmIrqRouting.HeaderSize);
    public static readonly uint Irqfd = Ioctl.In(Kvm, 0x76, Unsafe.SizeOf<KvmIrqfd>());
    public static readonly uint CreatePit2 = Ioctl.In(Kvm, 0x77, Unsafe.SizeOf<KvmPitConfig>());
    public static readonly uint Ioeventfd = Ioctl.In(Kvm, 0x79, Unsafe.SizeOf<KvmIoeventfd>());
    public static readonly uint SignalMsi = Ioctl.In(Kvm, 0xa5, Unsafe.SizeOf<KvmMsi>());

    // On a vCPU.
    public static readonly uint Run = Ioctl.None(Kvm, 0x80);
    public static readonly uint GetRegs = Ioctl.Out(Kvm, 0x81, Unsafe.SizeOf<KvmRegs>());
    public static readonly uint SetRegs = Ioctl.In(Kvm, 0x82, Unsafe.SizeOf<KvmRegs>());
    public static readonly uint GetSregs = Ioctl.Out(Kvm, 0x83, Unsafe.SizeOf<KvmSregs>());
    public static readonly uint SetSregs = Ioctl.In(Kvm, 0x84, Unsafe.SizeOf<KvmSregs>());
    public static readonly uint SetMsrs = Ioctl.In(Kvm, 0x89, KvmMsrs.HeaderSize);
    public static readonly uint SetSignalMask = Ioctl.In(Kvm, 0x8b, KvmSignalMask.HeaderSize);
    public static readonly uint GetFpu = Ioctl.Out(Kvm, 0x8c, Unsafe.SizeOf<KvmFpu>());
    public static readonly uint SetFpu = Ioctl.In(Kvm, 0x8d, Unsafe.SizeOf<KvmFpu>());
    public static readonly uint GetLapic = Ioctl.Out(Kvm, 0x8e, Unsafe.SizeOf<KvmLapicState>());
    public static readonly uint SetLapic = Ioctl.In(Kvm, 0x8f, Unsafe.SizeOf<KvmLapicState>());
    public static readonly uint SetXcrs = Ioctl.In(Kvm, 0xa7, Unsafe.SizeOf<KvmXcrs>());
    public static readonly uint SetCpuid2 = Ioctl.In(Kvm, 0x90, KvmCpuid2.HeaderSize);

    /// <summary>The API version every KVM since Linux 2.6.22 reports.</summary>
    public const int ApiVersion = 12;
}
