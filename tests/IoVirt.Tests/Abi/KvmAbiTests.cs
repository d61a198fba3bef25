using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Abi.Kvm;

namespace IoVirt.Tests.Abi;

/// <summary>
/// KVM's structures, ioctl requests and constants (IoVirt.Abi.Kvm) against &lt;linux/kvm.h&gt; as
/// gcc lays it out. A wrong offset here would make KVM read a register or a slot from the wrong
/// bytes, so every field the VMM writes or reads is compared.
/// </summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class KvmAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Memory_region_matches_the_header() =>
        Same<KvmUserspaceMemoryRegion>("kvm_userspace_memory_region", ("Slot", "slot"), ("Flags", "flags"),
            ("GuestPhysAddr", "guest_phys_addr"), ("MemorySize", "memory_size"), ("UserspaceAddr", "userspace_addr"));

    [Fact]
    public void Registers_match_the_header()
    {
        Same<KvmRegs>("kvm_regs", ("Rax", "rax"), ("Rbp", "rbp"), ("R8", "r8"), ("R15", "r15"), ("Rip", "rip"), ("Rflags", "rflags"));
        Same<KvmSegment>("kvm_segment", ("Base", "base"), ("Limit", "limit"), ("Selector", "selector"), ("Type", "type"),
            ("Present", "present"), ("Dpl", "dpl"), ("Db", "db"), ("S", "s"), ("L", "l"), ("G", "g"), ("Avl", "avl"),
            ("Unusable", "unusable"), ("Padding", "padding"));
        Same<KvmDtable>("kvm_dtable", ("Base", "base"), ("Limit", "limit"));
        Same<KvmSregs>("kvm_sregs", ("Cs", "cs"), ("Ds", "ds"), ("Es", "es"), ("Fs", "fs"), ("Gs", "gs"), ("Ss", "ss"),
            ("Tr", "tr"), ("Ldt", "ldt"), ("Gdt", "gdt"), ("Idt", "idt"), ("Cr0", "cr0"), ("Cr2", "cr2"), ("Cr3", "cr3"),
            ("Cr4", "cr4"), ("Cr8", "cr8"), ("Efer", "efer"), ("ApicBase", "apic_base"), ("InterruptBitmap", "interrupt_bitmap"));
        Same<KvmFpu>("kvm_fpu", ("Fpr", "fpr"), ("Fcw", "fcw"), ("Fsw", "fsw"), ("Ftwx", "ftwx"), ("LastOpcode", "last_opcode"),
            ("LastIp", "last_ip"), ("LastDp", "last_dp"), ("Xmm", "xmm"), ("Mxcsr", "mxcsr"));
        Same<KvmLapicState>("kvm_lapic_state");
        Same<KvmXcr>("kvm_xcr", ("Xcr", "xcr"), ("Value", "value"));
        Same<KvmXcrs>("kvm_xcrs", ("Count", "nr_xcrs"), ("Flags", "flags"), ("Xcrs", "xcrs"));
    }

    [Fact]
    public void Variable_length_requests_match_the_header()
    {
        Same<KvmMsrEntry>("kvm_msr_entry", ("Index", "index"), ("Data", "data"));
        Same<KvmMsrs>("kvm_msrs", ("Count", "nmsrs"));
        Assert.Equal((ulong)KvmMsrs.HeaderSize, probe.Value("offsetof:kvm_msrs.entries"));
        Same<KvmCpuidEntry2>("kvm_cpuid_entry2", ("Function", "function"), ("Index", "index"), ("Flags", "flags"),
            ("Eax", "eax"), ("Ebx", "ebx"), ("Ecx", "ecx"), ("Edx", "edx"));
        Same<KvmCpuid2>("kvm_cpuid2", ("Count", "nent"));
        Assert.Equal((ulong)KvmCpuid2.HeaderSize, probe.Value("offsetof:kvm_cpuid2.entries"));
        Same<KvmIrqRoutingEntry>("kvm_irq_routing_entry", ("Gsi", "gsi"), ("Type", "type"), ("Flags", "flags"),
            ("U0", "u.irqchip.irqchip"), ("U1", "u.irqchip.pin"), ("U0", "u.msi.address_lo"), ("U1", "u.msi.address_hi"),
            ("U2", "u.msi.data"));
        Same<KvmIrqRouting>("kvm_irq_routing", ("Count", "nr"), ("Flags", "flags"));
        Assert.Equal((ulong)KvmIrqRouting.HeaderSize, probe.Value("offsetof:kvm_irq_routing.entries"));
        Same<KvmSignalMask>("kvm_signal_mask", ("Length", "len"));
        Assert.Equal((ulong)KvmSignalMask.HeaderSize, probe.Value("offsetof:kvm_signal_mask.sigset"));
    }

    [Fact]
    public void Interrupt_and_notification_requests_match_the_header()
    {
        Same<KvmIrqLevel>("kvm_irq_level", ("Irq", "irq"), ("Level", "level"));
        Same<KvmIrqfd>("kvm_irqfd", ("Fd", "fd"), ("Gsi", "gsi"), ("Flags", "flags"), ("ResampleFd", "resamplefd"));
        Same<KvmMsi>("kvm_msi", ("AddressLo", "address_lo"), ("AddressHi", "address_hi"), ("Data", "data"), ("Flags", "flags"), ("DevId", "devid"));
        Same<KvmPitConfig>("kvm_pit_config", ("Flags", "flags"));
        Same<KvmIoeventfd>("kvm_ioeventfd", ("Datamatch", "datamatch"), ("Addr", "addr"), ("Len", "len"), ("Fd", "fd"), ("Flags", "flags"));
    }

    [Fact]
    public void Run_page_exit_fields_match_the_header()
    {
        var fields = new (int Ours, string C)[]
        {
            (Offset<KvmRun>("RequestInterruptWindow"), "request_interrupt_window"),
            (Offset<KvmRun>("ImmediateExit"), "immediate_exit"),
            (Offset<KvmRun>("ExitReason"), "exit_reason"),
            (Offset<KvmRun>("ReadyForInterruptInjection"), "ready_for_interrupt_injection"),
            (Offset<KvmRun>("IfFlag"), "if_flag"),
            (Offset<KvmRun>("Flags"), "flags"),
            (Offset<KvmRun>("Cr8"), "cr8"),
            (Offset<KvmRun>("ApicBase"), "apic_base"),
            (Exit<KvmRunHardware>("Hardware", "HardwareExitReason"), "hw.hardware_exit_reason"),
            (Exit<KvmRunFailEntry>("FailEntry", "HardwareEntryFailureReason"), "fail_entry.hardware_entry_failure_reason"),
            (Exit<KvmRunFailEntry>("FailEntry", "Cpu"), "fail_entry.cpu"),
            (Exit<KvmRunIo>("Io", "Direction"), "io.direction"),
            (Exit<KvmRunIo>("Io", "Size"), "io.size"),
            (Exit<KvmRunIo>("Io", "Port"), "io.port"),
            (Exit<KvmRunIo>("Io", "Count"), "io.count"),
            (Exit<KvmRunIo>("Io", "DataOffset"), "io.data_offset"),
            (Exit<KvmRunMmio>("Mmio", "PhysAddr"), "mmio.phys_addr"),
            (Exit<KvmRunMmio>("Mmio", "Data"), "mmio.data"),
            (Exit<KvmRunMmio>("Mmio", "Len"), "mmio.len"),
            (Exit<KvmRunMmio>("Mmio", "IsWrite"), "mmio.is_write"),
            (Exit<KvmRunInternal>("Internal", "Suberror"), "internal.suberror"),
            (Exit<KvmRunInternal>("Internal", "Ndata"), "internal.ndata"),
            (Exit<KvmRunInternal>("Internal", "Data"), "internal.data"),
            (Exit<KvmRunSystemEvent>("SystemEvent", "Type"), "system_event.type"),
            (Exit<KvmRunSystemEvent>("SystemEvent", "Ndata"), "system_event.ndata"),
            (Exit<KvmRunSystemEvent>("SystemEvent", "Data"), "system_event.data"),
        };
        CHeaderAssert.Struct(probe, "kvm_run", null, [.. fields.Select(f => (f.C, f.Ours))]);
    }

    [Fact]
    public void Ioctl_requests_match_the_header()
    {
        Assert.Equal((ulong)KvmIoctl.ApiVersion, probe.Value("KVM_API_VERSION"));
        var requests = new (uint Ours, string C)[]
        {
            (KvmIoctl.GetApiVersion, "KVM_GET_API_VERSION"), (KvmIoctl.CreateVm, "KVM_CREATE_VM"),
            (KvmIoctl.CheckExtension, "KVM_CHECK_EXTENSION"), (KvmIoctl.GetVcpuMmapSize, "KVM_GET_VCPU_MMAP_SIZE"),
            (KvmIoctl.GetSupportedCpuid, "KVM_GET_SUPPORTED_CPUID"), (KvmIoctl.CreateVcpu, "KVM_CREATE_VCPU"),
            (KvmIoctl.SetUserMemoryRegion, "KVM_SET_USER_MEMORY_REGION"), (KvmIoctl.SetTssAddr, "KVM_SET_TSS_ADDR"),
            (KvmIoctl.SetIdentityMapAddr, "KVM_SET_IDENTITY_MAP_ADDR"), (KvmIoctl.CreateIrqchip, "KVM_CREATE_IRQCHIP"),
            (KvmIoctl.IrqLine, "KVM_IRQ_LINE"), (KvmIoctl.SetGsiRouting, "KVM_SET_GSI_ROUTING"), (KvmIoctl.Irqfd, "KVM_IRQFD"),
            (KvmIoctl.CreatePit2, "KVM_CREATE_PIT2"), (KvmIoctl.Ioeventfd, "KVM_IOEVENTFD"), (KvmIoctl.SignalMsi, "KVM_SIGNAL_MSI"),
            (KvmIoctl.Run, "KVM_RUN"), (KvmIoctl.GetRegs, "KVM_GET_REGS"), (KvmIoctl.SetRegs, "KVM_SET_REGS"),
            (KvmIoctl.GetSregs, "KVM_GET_SREGS"), (KvmIoctl.SetSregs, "KVM_SET_SREGS"), (KvmIoctl.SetMsrs, "KVM_SET_MSRS"), (KvmIoctl.SetSignalMask, "KVM_SET_SIGNAL_MASK"),
            (KvmIoctl.GetFpu, "KVM_GET_FPU"), (KvmIoctl.SetFpu, "KVM_SET_FPU"), (KvmIoctl.GetLapic, "KVM_GET_LAPIC"), (KvmIoctl.SetXcrs, "KVM_SET_XCRS"),
            (KvmIoctl.SetLapic, "KVM_SET_LAPIC"), (KvmIoctl.SetCpuid2, "KVM_SET_CPUID2"),
        };
        var wrong = requests.Where(r => probe.Value(r.C) != r.Ours).Select(r => $"{r.C}: 0x{r.Ours:x} here, 0x{probe.Value(r.C):x} in C");
        Assert.Empty(wrong);
    }

    [Fact]
    public void Constants_match_the_header()
    {
        var constants = new (ulong Ours, string C)[]
        {
            ((ulong)KvmCap.Irqchip, "KVM_CAP_IRQCHIP"), ((ulong)KvmCap.Hlt, "KVM_CAP_HLT"), ((ulong)KvmCap.UserMemory, "KVM_CAP_USER_MEMORY"),
            ((ulong)KvmCap.SetTssAddr, "KVM_CAP_SET_TSS_ADDR"), ((ulong)KvmCap.ExtCpuid, "KVM_CAP_EXT_CPUID"),
            ((ulong)KvmCap.NrVcpus, "KVM_CAP_NR_VCPUS"), ((ulong)KvmCap.IrqRouting, "KVM_CAP_IRQ_ROUTING"),
            ((ulong)KvmCap.Irqfd, "KVM_CAP_IRQFD"), ((ulong)KvmCap.Pit2, "KVM_CAP_PIT2"), ((ulong)KvmCap.Ioeventfd, "KVM_CAP_IOEVENTFD"),
            ((ulong)KvmCap.MaxVcpus, "KVM_CAP_MAX_VCPUS"), ((ulong)KvmCap.SignalMsi, "KVM_CAP_SIGNAL_MSI"),
            ((ulong)KvmCap.ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"), ((ulong)KvmCap.Xcrs, "KVM_CAP_XCRS"),
            ((ulong)KvmCap.TscDeadlineTimer, "KVM_CAP_TSC_DEADLINE_TIMER"),
            ((ulong)KvmExitReason.Unknown, "KVM_EXIT_UNKNOWN"), ((ulong)KvmExitReason.Exception, "KVM_EXIT_EXCEPTION"),
            ((ulong)KvmExitReason.Io, "KVM_EXIT_IO"), ((ulong)KvmExitReason.Hypercall, "KVM_EXIT_HYPERCALL"),
            ((ulong)KvmExitReason.Debug, "KVM_EXIT_DEBUG"), ((ulong)KvmExitReason.Hlt, "KVM_EXIT_HLT"),
            ((ulong)KvmExitReason.Mmio, "KVM_EXIT_MMIO"), ((ulong)KvmExitReason.IrqWindowOpen, "KVM_EXIT_IRQ_WINDOW_OPEN"),
            ((ulong)KvmExitReason.Shutdown, "KVM_EXIT_SHUTDOWN"), ((ulong)KvmExitReason.FailEntry, "KVM_EXIT_FAIL_ENTRY"),
            ((ulong)KvmExitReason.Intr, "KVM_EXIT_INTR"), ((ulong)KvmExitReason.Nmi, "KVM_EXIT_NMI"),
            ((ulong)KvmExitReason.InternalError, "KVM_EXIT_INTERNAL_ERROR"), ((ulong)KvmExitReason.SystemEvent, "KVM_EXIT_SYSTEM_EVENT"),
            ((ulong)KvmSystemEvent.Shutdown, "KVM_SYSTEM_EVENT_SHUTDOWN"), ((ulong)KvmSystemEvent.Reset, "KVM_SYSTEM_EVENT_RESET"),
            ((ulong)KvmSystemEvent.Crash, "KVM_SYSTEM_EVENT_CRASH"), (KvmRunIo.In, "KVM_EXIT_IO_IN"), (KvmRunIo.Out, "KVM_EXIT_IO_OUT"),
            (KvmIrqfd.FlagDeassign, "KVM_IRQFD_FLAG_DEASSIGN"), (KvmIoeventfd.FlagDatamatch, "KVM_IOEVENTFD_FLAG_DATAMATCH"),
            (KvmIoeventfd.FlagPio, "KVM_IOEVENTFD_FLAG_PIO"), (KvmIoeventfd.FlagDeassign, "KVM_IOEVENTFD_FLAG_DEASSIGN"),
            (KvmPitConfig.SpeakerDummy, "KVM_PIT_SPEAKER_DUMMY"), (KvmIrqRoutingEntry.TypeIrqchip, "KVM_IRQ_ROUTING_IRQCHIP"),
            (KvmIrqRoutingEntry.TypeMsi, "KVM_IRQ_ROUTING_MSI"), (KvmIrqRoutingEntry.IrqchipPicMaster, "KVM_IRQCHIP_PIC_MASTER"),
            (KvmIrqRoutingEntry.IrqchipPicSlave, "KVM_IRQCHIP_PIC_SLAVE"), (KvmIrqRoutingEntry.IrqchipIoapic, "KVM_IRQCHIP_IOAPIC"),
        };
        var wrong = constants.Where(c => probe.Value(c.C) != c.Ours).Select(c => $"{c.C}: {c.Ours} here, {probe.Value(c.C)} in C");
        Assert.Empty(wrong);
    }

    /// <summary>Our struct's size and the offsets of its named fields equal C's.</summary>
    private void Same<T>(string cStruct, params (string Ours, string C)[] fields)
        where T : unmanaged =>
        CHeaderAssert.Struct(probe, cStruct, Unsafe.SizeOf<T>(), [.. fields.Select(f => (f.C, Offset<T>(f.Ours)))]);

    private static int Offset<T>(string field) => checked((int)Marshal.OffsetOf<T>(field));

    private static int Exit<TView>(string union, string field) => Offset<KvmRun>(union) + Offset<TView>(field);
}
