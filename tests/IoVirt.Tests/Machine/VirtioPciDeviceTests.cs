using System.Buffers.Binary;
using IoVirt.Abi.Virtio;
using IoVirt.Machine;
using IoVirt.Machine.Pci;
using IoVirt.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Tests.Machine;

/// <summary>
/// The virtio-pci transport as Linux's virtio_pci_modern driver walks it: the PCI header and
/// capabilities through ports 0xCF8/0xCFC, BAR sizing, feature negotiation, queue setup, MSI-X
/// and DRIVER_OK, against a back end that records what it is handed.
/// </summary>
public sealed class VirtioPciDeviceTests : IDisposable
{
    private const int Slot = 1;
    private readonly RecordingVm _vm = new();
    private readonly IoBus _mmio = new();
    private readonly PciBus _pci = new();
    private readonly FakeBackend _backend = new();
    private readonly VirtioPciDevice _device;

    public VirtioPciDeviceTests() => _device = new VirtioPciDevice(_vm, new MsiRouter(_vm), _pci, _mmio, _backend, NullLogger.Instance);

    public void Dispose() => _device.Dispose();

    [Fact]
    public void Config_space_shows_a_modern_virtio_device_with_msix_and_the_five_virtio_capabilities()
    {
        Assert.Equal(0x1af4u, Config(0x00, 2));
        Assert.Equal(0x1044u, Config(0x02, 2));
        Assert.Equal(0x0010u, Config(0x06, 2) & 0x10);
        var types = new List<uint>();
        var msix = false;
        for (var at = Config(0x34, 1); at != 0; at = Config((int)at + 1, 1))
        {
            var id = Config((int)at, 1);
            msix |= id == 0x11;
            if (id == 0x09)
            {
                types.Add(Config((int)at + 3, 1));
                Assert.Equal(0u, Config((int)at + 4, 1)); // all in BAR 0
            }
        }

        Assert.True(msix, "no MSI-X capability");
        Assert.Equal([VirtioPci.CapCommonCfg, VirtioPci.CapIsrCfg, VirtioPci.CapDeviceCfg, VirtioPci.CapNotifyCfg, VirtioPci.CapPciCfg], types.Select(t => (byte)t));
    }

    [Fact]
    public void Bar_sizing_reads_the_size_and_a_moved_bar_moves_the_registers_and_the_ioeventfds()
    {
        var original = Config(0x10, 4);
        Assert.Equal(0xc000_0000u, original);
        WriteConfig(0x04, 2, 0); // decoding off, as Linux sizes BARs
        Assert.Empty(_vm.IoEvents);
        WriteConfig(0x10, 4, 0xffff_ffff);
        Assert.Equal(~(uint)(VirtioPciDevice.BarSize - 1), Config(0x10, 4));
        WriteConfig(0x10, 4, 0xd000_0000);
        WriteConfig(0x04, 2, 0x6);
        Assert.Equal(0xd000_0000UL + 0x3000, Assert.Single(_vm.IoEvents).Address.Address);
        Assert.Equal(0x1u, Common(VirtioPci.NumQueues, 2, bar: 0xd000_0000));
    }

    [Fact]
    public void Features_ok_is_refused_unless_the_driver_takes_version_1_and_nothing_unoffered()
    {
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        DriverFeatures(1UL << 5); // not VERSION_1
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
        Assert.Equal(0u, Common(VirtioPci.DeviceStatus, 1) & (uint)DeviceStatus.FeaturesOk);

        WriteCommon(VirtioPci.DeviceStatus, 1, 0);
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        DriverFeatures(1UL << VirtioFeature.Version1);
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
        Assert.NotEqual(0u, Common(VirtioPci.DeviceStatus, 1) & (uint)DeviceStatus.FeaturesOk);
    }

    [Fact]
    public void Driver_ok_hands_the_back_end_the_rings_kicks_and_vector_irqfds_and_reset_takes_them_back()
    {
        WriteCommon(VirtioPci.DeviceFeatureSelect, 4, 1);
        Assert.Equal(1u, Common(VirtioPci.DeviceFeature, 4)); // VERSION_1 is bit 32
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        DriverFeatures(1UL << VirtioFeature.Version1);
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);

        // MSI-X on, vector 1 programmed and unmasked: routed and connected.
        var msix = Capability(0x11);
        WriteConfig(msix + 2, 2, 0x8000);
        WriteBar(0x4000 + 16, 4, 0xfee0_0000);
        WriteBar(0x4000 + 16 + 8, 4, 0x41);
        WriteBar(0x4000 + 16 + 12, 4, 0);
        var route = Assert.Single(_vm.Routes, r => r.Kind == Hypervisor.GsiRouteKind.Msi);
        Assert.Equal((0xfee0_0000UL, 0x41u), (route.MsiAddress, route.MsiData));
        Assert.Equal(route.Gsi, Assert.Single(_vm.IrqEvents).Gsi);

        WriteCommon(VirtioPci.QueueSelect, 2, 0);
        WriteCommon(VirtioPci.QueueSize, 2, 100); // not a power of two: ignored
        Assert.Equal(256u, Common(VirtioPci.QueueSize, 2));
        ProgramQueue(64, 1, 0x1_0000_1000, 0x2000, 0x3000);
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);

        var ring = Assert.Single(_backend.Activated!);
        Assert.Equal((0, 64, 0x1_0000_1000UL, 0x2000UL, 0x3000UL), (ring.Index, ring.Size, ring.Descriptors, ring.Driver, ring.Device));
        Assert.Same(Assert.Single(_vm.IoEvents).Fd, ring.Kick);
        Assert.Same(Assert.Single(_vm.IrqEvents).Fd, ring.Interrupt);
        Assert.Equal(1UL << VirtioFeature.Version1, _backend.Features);

        WriteCommon(VirtioPci.QueueSize, 2, 16); // after DRIVER_OK: ignored
        Assert.Equal(64u, Common(VirtioPci.QueueSize, 2));

        WriteCommon(VirtioPci.DeviceStatus, 1, 0);
        Assert.Equal(1, _backend.Resets);
        Assert.Equal(0u, Common(VirtioPci.DeviceStatus, 1));
        Assert.Equal(256u, Common(VirtioPci.QueueSize, 2));
    }

    [Fact]
    public void A_masked_vector_is_disconnected_and_out_of_range_vectors_read_back_as_none()
    {
        var msix = Capability(0x11);
        WriteConfig(msix + 2, 2, 0x8000);
        WriteBar(0x4000 + 12, 4, 0);
        Assert.Single(_vm.IrqEvents);
        WriteBar(0x4000 + 12, 4, 1);
        Assert.Empty(_vm.IrqEvents);
        WriteCommon(VirtioPci.ConfigMsixVector, 2, 7);
        Assert.Equal(VirtioPci.NoVector, Common(VirtioPci.ConfigMsixVector, 2));
    }

    [Fact]
    public void The_pci_configuration_access_window_reads_and_writes_the_bar_registers()
    {
        var cap = VirtioCapability(VirtioPci.CapPciCfg);
        var data = cap + VirtioPci.PciCfgData;
        WriteConfig(cap + VirtioPci.CapBar, 1, 0);
        WriteConfig(cap + VirtioPci.CapOffset, 4, VirtioPci.NumQueues);
        WriteConfig(cap + VirtioPci.CapLengthField, 4, 2);
        Assert.Equal(1u, Config(data, 2));

        // A write through the window lands in the register: the driver's status, read over MMIO.
        WriteConfig(cap + VirtioPci.CapOffset, 4, VirtioPci.DeviceStatus);
        WriteConfig(cap + VirtioPci.CapLengthField, 4, 1);
        WriteConfig(data, 4, (uint)DeviceStatus.Acknowledge);
        Assert.Equal((uint)DeviceStatus.Acknowledge, Common(VirtioPci.DeviceStatus, 1));
        Assert.Equal((uint)DeviceStatus.Acknowledge, Config(data, 1));

        // A notify through the window kicks the queue, as a BAR write does.
        WriteConfig(cap + VirtioPci.CapOffset, 4, 0x3000);
        WriteConfig(cap + VirtioPci.CapLengthField, 4, 2);
        WriteConfig(data, 2, 0);
        Assert.True(_vm.IoEvents[0].Fd.TryConsume());

        // Another BAR, a width of 3, an unaligned or outside offset: zeros, and writes go nowhere.
        foreach (var (bar, offset, length) in new (uint, uint, uint)[] { (1, VirtioPci.DeviceStatus, 1), (0, VirtioPci.DeviceStatus, 3), (0, VirtioPci.NumQueues + 1, 2), (0, (uint)VirtioPciDevice.BarSize, 4) })
        {
            WriteConfig(cap + VirtioPci.CapBar, 1, bar);
            WriteConfig(cap + VirtioPci.CapOffset, 4, offset);
            WriteConfig(cap + VirtioPci.CapLengthField, 4, length);
            WriteConfig(data, 4, 0);
            Assert.Equal(0u, Config(data, 4));
        }

        Assert.Equal((uint)DeviceStatus.Acknowledge, Common(VirtioPci.DeviceStatus, 1));
    }

    [Fact]
    public void A_vector_signalled_while_masked_shows_its_pending_bit_until_it_is_unmasked()
    {
        var msix = Capability(0x11);
        WriteConfig(msix + 2, 2, 0x8000);
        WriteBar(0x4000 + 12, 4, 0);
        var irq = Assert.Single(_vm.IrqEvents).Fd;
        WriteBar(0x4000 + 12, 4, 1);
        Assert.Equal(0u, PendingBits());
        irq.Signal();
        Assert.Equal(1u, PendingBits());

        // Unmasked, the vector is connected again and the hypervisor delivers what waited.
        WriteBar(0x4000 + 12, 4, 0);
        Assert.Equal(0u, PendingBits());
        Assert.Same(irq, Assert.Single(_vm.IrqEvents).Fd);
    }

    [Fact]
    public void Describe_shows_a_split_rings_indices_a_set_kick_and_a_signal_held_by_a_masked_vector()
    {
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(0, 0x1_0000));
        Assert.Equal(MemoryFault.None, memory.Write(0x2000, [0, 0, 5, 0])); // avail: flags 0, idx 5
        Assert.Equal(MemoryFault.None, memory.Write(0x2000 + 4 + (2 * 64), [2, 0])); // used_event 2
        Assert.Equal(MemoryFault.None, memory.Write(0x3000, [1, 0, 3, 0])); // used: NO_NOTIFY, idx 3
        Assert.Equal(MemoryFault.None, memory.Write(0x3000 + 4 + (8 * 64), [4, 0])); // avail_event 4
        var msix = Capability(0x11);
        WriteConfig(msix + 2, 2, 0x8000);
        _backend.Offered |= 1UL << VirtioFeature.RingEventIdx;
        Start(1UL << VirtioFeature.Version1 | 1UL << VirtioFeature.RingEventIdx, () => ProgramQueue(64, 1, 0x1000, 0x2000, 0x3000));

        // Vector 1 is still masked (vectors start so): the signal waits in its eventfd.
        _backend.Activated![0].Interrupt!.Signal();
        _backend.Activated[0].Kick.Signal();
        var lines = _device.Describe(memory).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("entropy at 0xc0000000: status 0x0f", lines[0], StringComparison.Ordinal);
        Assert.Equal("entropy queue 0: size 64, split, avail idx 5 flags 0, used idx 3 flags 1, used_event 2, avail_event 4; kick eventfd set; vector 1 masked, signal pending", lines[1]);

        // Unmasked, the vector is live and the hypervisor has the signal; the kick, once read, is gone.
        WriteBar(0x4000 + 16 + 12, 4, 0);
        Assert.True(_backend.Activated[0].Kick.TryConsume());
        Assert.EndsWith("; kick eventfd clear; vector 1 live", _device.Describe(memory).Last(), StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_shows_a_packed_rings_event_areas_and_says_when_rings_lie_outside_guest_memory()
    {
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(0, 0x1_0000));
        Assert.Equal(MemoryFault.None, memory.Write(0x2000, [0x10, 0x80, 2, 0])); // driver event: off_wrap 0x8010, DESC
        Assert.Equal(MemoryFault.None, memory.Write(0x3000, [0, 0, 1, 0])); // device event: DISABLE
        _backend.Offered |= 1UL << VirtioFeature.RingPacked;
        Start(1UL << VirtioFeature.Version1 | 1UL << VirtioFeature.RingPacked, () => ProgramQueue(64, VirtioPci.NoVector, 0x1000, 0x2000, 0x3000));
        Assert.Equal("entropy queue 0: size 64, packed, driver event Desc at 0x8010, device event Disable at 0x0000; kick eventfd clear; no vector", _device.Describe(memory).Last());

        using var small = new GuestMemory(GuestRegion.CreateMemfd(0, 0x1000));
        Assert.Contains("packed, its event areas outside guest memory", _device.Describe(small).Last(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_notify_write_that_exits_to_the_vmm_still_kicks_the_queue()
    {
        WriteBar(0x3000, 2, 0);
        Assert.True(_vm.IoEvents[0].Fd.TryConsume());
        WriteBar(0x3000 + 64, 2, 0); // beyond the queues: ignored
    }

    private uint Config(int offset, int width)
    {
        _pci.Write(0, BitConverter.GetBytes(0x8000_0000u | (Slot << 11) | (uint)(offset & 0xfc)));
        var data = new byte[width];
        _pci.Read(4 + (ulong)(offset & 3), data);
        return width switch { 1 => data[0], 2 => BinaryPrimitives.ReadUInt16LittleEndian(data), _ => BinaryPrimitives.ReadUInt32LittleEndian(data) };
    }

    private void WriteConfig(int offset, int width, uint value)
    {
        _pci.Write(0, BitConverter.GetBytes(0x8000_0000u | (Slot << 11) | (uint)(offset & 0xfc)));
        _pci.Write(4 + (ulong)(offset & 3), BitConverter.GetBytes(value)[..width]);
    }

    private int Capability(uint id)
    {
        for (var at = Config(0x34, 1); at != 0; at = Config((int)at + 1, 1))
        {
            if (Config((int)at, 1) == id)
            {
                return (int)at;
            }
        }

        throw new InvalidOperationException($"no capability {id:x}");
    }

    private int VirtioCapability(byte type)
    {
        for (var at = Config(0x34, 1); at != 0; at = Config((int)at + 1, 1))
        {
            if (Config((int)at, 1) == 0x09 && Config((int)at + VirtioPci.CapCfgType, 1) == type)
            {
                return (int)at;
            }
        }

        throw new InvalidOperationException($"no virtio capability {type}");
    }

    private uint PendingBits()
    {
        var data = new byte[8];
        _mmio.Read(0xc000_0000 + 0x6000, data);
        return (uint)BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    private void WriteBar(ulong offset, int width, uint value) => _mmio.Write(0xc000_0000 + offset, BitConverter.GetBytes(value)[..width]);

    private uint Common(int offset, int width, ulong bar = 0xc000_0000)
    {
        var data = new byte[4];
        _mmio.Read(bar + (ulong)offset, data.AsSpan(0, width));
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    private void WriteCommon(int offset, int width, uint value) => WriteBar((ulong)offset, width, value);

    private void Status(DeviceStatus status) => WriteCommon(VirtioPci.DeviceStatus, 1, (uint)status);

    /// <summary>Negotiates <paramref name="features"/>, runs <paramref name="queues"/> to set the queues up, then DRIVER_OK.</summary>
    private void Start(ulong features, Action queues)
    {
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        DriverFeatures(features);
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
        queues();
        Status(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
    }

    /// <summary>Sets up and enables the selected queue (queue 0 unless selected otherwise).</summary>
    private void ProgramQueue(uint size, uint vector, ulong descriptors, uint driver, uint device)
    {
        WriteCommon(VirtioPci.QueueSize, 2, size);
        WriteCommon(VirtioPci.QueueMsixVector, 2, vector);
        WriteCommon(VirtioPci.QueueDesc, 4, unchecked((uint)descriptors));
        WriteCommon(VirtioPci.QueueDesc + 4, 4, (uint)(descriptors >> 32));
        WriteCommon(VirtioPci.QueueDriver, 4, driver);
        WriteCommon(VirtioPci.QueueDevice, 4, device);
        WriteCommon(VirtioPci.QueueEnable, 2, 1);
    }

    private void DriverFeatures(ulong features)
    {
        WriteCommon(VirtioPci.DriverFeatureSelect, 4, 0);
        WriteCommon(VirtioPci.DriverFeature, 4, unchecked((uint)features));
        WriteCommon(VirtioPci.DriverFeatureSelect, 4, 1);
        WriteCommon(VirtioPci.DriverFeature, 4, (uint)(features >> 32));
    }

    private sealed class FakeBackend : IVirtioBackend
    {
        public IReadOnlyList<VirtioQueueSetup>? Activated { get; private set; }

        public ulong Features { get; private set; } = 1UL << VirtioFeature.Version1;

        /// <summary>What the device offers.</summary>
        public ulong Offered { get; set; } = 1UL << VirtioFeature.Version1;

        public int Resets { get; private set; }

        public VirtioDeviceId DeviceId => VirtioDeviceId.Entropy;

        public uint PciClass => 0xff_00_00;

        ulong IVirtioBackend.Features => Offered;

        public int QueueCount => 1;

        public int MaxQueueSize => 256;

        public void ReadConfig(uint offset, Span<byte> data) => data.Clear();

        public void WriteConfig(uint offset, ReadOnlySpan<byte> data)
        {
        }

        public void Activate(ulong features, IReadOnlyList<VirtioQueueSetup> queues)
        {
            Features = features;
            Activated = queues;
        }

        public void Reset() => Resets++;

        public void Dispose()
        {
        }
    }
}
