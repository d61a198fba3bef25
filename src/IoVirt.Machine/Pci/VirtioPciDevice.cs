using System.Buffers.Binary;
using IoVirt.Abi.Virtio;
using IoVirt.Hypervisor;
using IoVirt.Interop;
using IoVirt.Memory;
using Microsoft.Extensions.Logging;

namespace IoVirt.Machine.Pci;

/// <summary>
/// A virtio device on the modern PCI transport (virtio 1.2, 4.1). BAR 0 holds the common
/// configuration, ISR, device configuration and notification areas and the MSI-X table. Queue
/// notifications are ioeventfds and interrupts irqfds, so the rings' traffic never passes
/// through this class: it only negotiates, and hands the rings to its <see cref="IVirtioBackend"/>.
/// Everything the driver writes is checked; a driver that breaks the rules gets a refusal
/// (FEATURES_OK not set, DEVICE_NEEDS_RESET), never a crash.
/// </summary>
public sealed class VirtioPciDevice : IBusDevice, IDisposable
{
    public const ulong BarSize = 0x8000;
    private const uint CommonOffset = 0x0000, IsrOffset = 0x1000, DeviceOffset = 0x2000, NotifyOffset = 0x3000;
    private const uint MsixTableOffset = 0x4000, MsixPbaOffset = 0x6000;
    private const uint RegionSize = 0x1000;
    private const uint NotifyMultiplier = 4;
    private const byte VendorCapability = 0x09;

    private readonly Lock _lock = new();
    private readonly IVirtualMachine _vm;
    private readonly IoBus _mmio;
    private readonly IVirtioBackend _backend;
    private readonly ILogger _logger;
    private readonly PciConfigSpace _config;
    private readonly MsixTable _msix;
    private readonly int _msixCapability;
    private readonly int _pciCfgCapability;
    private readonly Queue[] _queues;
    private ulong _barAddress;
    private uint _deviceFeatureSelect, _driverFeatureSelect;
    private ulong _driverFeatures;
    private ushort _configVector = VirtioPci.NoVector;
    private DeviceStatus _status;
    private byte _configGeneration;
    private ushort _queueSelect;
    private bool _active;

    public VirtioPciDevice(IVirtualMachine vm, MsiRouter router, PciBus bus, IoBus mmio, IVirtioBackend backend, ILogger logger)
    {
        _vm = vm;
        _mmio = mmio;
        _backend = backend;
        _logger = logger;
        if (backend.QueueCount is < 1 or > 1024 || !int.IsPow2(backend.MaxQueueSize) || backend.MaxQueueSize > 32768)
        {
            throw new ArgumentException($"a {backend.DeviceId} back end with {backend.QueueCount} queues of {backend.MaxQueueSize} does not fit virtio-pci");
        }

        var deviceId = (ushort)(VirtioPci.ModernDeviceIdBase + (ushort)backend.DeviceId);
        _config = new PciConfigSpace(VirtioPci.VendorId, deviceId, backend.PciClass, 1, VirtioPci.VendorId, deviceId);
        _msix = new MsixTable(vm, router, backend.QueueCount + 1);
        _msixCapability = _config.AddCapability(MsixTable.CapabilityId, _msix.Capability(0, MsixTableOffset, MsixPbaOffset), MsixTable.CapabilityMask);
        AddVirtioCapability(VirtioPci.CapCommonCfg, CommonOffset, VirtioPci.CommonCfgLength);
        AddVirtioCapability(VirtioPci.CapIsrCfg, IsrOffset, 1);
        AddVirtioCapability(VirtioPci.CapDeviceCfg, DeviceOffset, RegionSize);
        var multiplier = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(multiplier, NotifyMultiplier);
        AddVirtioCapability(VirtioPci.CapNotifyCfg, NotifyOffset, (uint)backend.QueueCount * NotifyMultiplier, multiplier);
        _pciCfgCapability = AddVirtioCapability(VirtioPci.CapPciCfg, 0, 0, new byte[4], PciCfgWritable);
        _config.AddWindow(_pciCfgCapability + VirtioPci.PciCfgData, 4, new PciCfgWindow(this));
        _queues = [.. Enumerable.Range(0, backend.QueueCount).Select(i => new Queue(backend.MaxQueueSize, EventFd.Create()))];

        _config.BarChanged += (_, address) => MoveBar(address);
        _config.CapabilityWritten += CapabilityWritten;
        _config.AddMemoryBar(0, BarSize, bus.AllocateBar(BarSize));
        MoveBar(_config.BarAddress(0));
        bus.Add(_config);
    }

    public PciConfigSpace Config => _config;

    /// <summary>
    /// The device as it stands, one line for it and one per enabled queue, for a person finding
    /// out why a guest waits (the VMM prints it on SIGUSR1): status and features, and per queue
    /// its ring's indices in <paramref name="memory"/>, whether its kick eventfd is set (a back end
    /// that reads its kicks, as libvhost-user's do, leaves it clear once it has looked; iovirt's
    /// workers wait on theirs edge-triggered and never read it), and its interrupt vector with
    /// any signal waiting undelivered.
    /// </summary>
    public IReadOnlyList<string> Describe(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var lines = new List<string>();
        lock (_lock)
        {
            var name = _backend.DeviceId.ToString().ToLowerInvariant();
            var config = _configVector == VirtioPci.NoVector ? "no config vector" : $"config {_msix.Describe(_configVector)}";
            lines.Add($"{name} at 0x{_barAddress:x}: status 0x{(byte)_status:x2} ({_status}), driver features 0x{_driverFeatures:x}, {config}");
            var packed = (_driverFeatures & (1UL << VirtioFeature.RingPacked)) != 0;
            var eventIdx = (_driverFeatures & (1UL << VirtioFeature.RingEventIdx)) != 0;
            for (var i = 0; i < _queues.Length; i++)
            {
                var queue = _queues[i];
                if (!queue.Enabled)
                {
                    continue;
                }

                var ring = RingState.Describe(memory, packed, eventIdx, queue.Size, queue.Driver, queue.Device);
                var vector = queue.Vector == VirtioPci.NoVector ? "no vector" : _msix.Describe(queue.Vector);
                lines.Add($"{name} queue {i}: size {queue.Size}, {ring}; kick eventfd {(queue.Kick.IsSignalled ? "set" : "clear")}; {vector}");
            }
        }

        return lines;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        var region = (uint)(offset / RegionSize) * RegionSize;
        var at = (uint)(offset - region);
        switch (region)
        {
            case CommonOffset:
                ReadCommon(at, data);
                break;
            case IsrOffset:
                data.Clear(); // MSI-X only: the ISR is never set
                break;
            case DeviceOffset:
                _backend.ReadConfig(at, data);
                break;
            case MsixTableOffset:
                _msix.Table.Read(at, data);
                break;
            case MsixPbaOffset:
                _msix.PendingBits.Read(at, data);
                break;
            default:
                data.Clear();
                break;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        var region = (uint)(offset / RegionSize) * RegionSize;
        var at = (uint)(offset - region);
        switch (region)
        {
            case CommonOffset:
                WriteCommon(at, data);
                break;
            case DeviceOffset:
                _backend.WriteConfig(at, data);
                break;
            case NotifyOffset when at / NotifyMultiplier < _queues.Length:
                // Only before the ioeventfd is in place (or with a width it does not match).
                _queues[at / NotifyMultiplier].Kick.Signal();
                break;
            case MsixTableOffset:
                _msix.Table.Write(at, data);
                break;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            StopBackend();
        }

        _backend.Dispose();
        _msix.Dispose();
        foreach (var queue in _queues)
        {
            queue.Kick.Dispose();
        }
    }

    /// <summary>
    /// Which bytes of the PCI configuration access capability (after ID and next) the driver
    /// writes: bar, offset and length, which say where pci_cfg_data reaches; the data window
    /// itself is served by <see cref="PciCfgWindow"/>.
    /// </summary>
    private static ReadOnlySpan<byte> PciCfgWritable => [0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

    /// <summary>Adds a vendor capability for a virtio structure in BAR 0; <paramref name="extra"/> follows struct virtio_pci_cap.</summary>
    private int AddVirtioCapability(byte type, uint offset, uint length, ReadOnlySpan<byte> extra = default, ReadOnlySpan<byte> writable = default)
    {
        var body = new byte[VirtioPci.CapLength - 2 + extra.Length];
        body[VirtioPci.CapLen - 2] = (byte)(body.Length + 2);
        body[VirtioPci.CapCfgType - 2] = type;
        body[VirtioPci.CapBar - 2] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(VirtioPci.CapOffset - 2), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(VirtioPci.CapLengthField - 2), length);
        extra.CopyTo(body.AsSpan(VirtioPci.CapLength - 2));
        return _config.AddCapability(VendorCapability, body, writable);
    }

    /// <summary>
    /// An access to pci_cfg_data: a read or write of cap.length (1, 2 or 4) bytes at cap.offset
    /// of BAR cap.bar, through the same registers as the BAR itself (virtio 1.2, 4.1.4.9). A
    /// window that names another BAR, another width or an unaligned or outside offset reads
    /// zeros and ignores writes.
    /// </summary>
    private bool PciCfgTarget(out uint offset, out int length)
    {
        Span<byte> cap = stackalloc byte[VirtioPci.PciCfgCapLength];
        _config.ReadRaw(_pciCfgCapability, cap);
        offset = BinaryPrimitives.ReadUInt32LittleEndian(cap[VirtioPci.CapOffset..]);
        var requested = BinaryPrimitives.ReadUInt32LittleEndian(cap[VirtioPci.CapLengthField..]);
        length = requested is 1 or 2 or 4 ? (int)requested : 0;
        return cap[VirtioPci.CapBar] == 0 && length != 0 && offset % (uint)length == 0 && offset + (ulong)length <= BarSize;
    }

    private void CapabilityWritten(int offset, int length)
    {
        var control = _msixCapability + 2;
        if (offset <= control + 1 && control < offset + length)
        {
            Span<byte> value = stackalloc byte[2];
            _config.ReadRaw(control, value);
            _msix.SetControl(BinaryPrimitives.ReadUInt16LittleEndian(value));
        }
    }

    /// <summary>The BAR moved (or stopped decoding): the MMIO range and the notification ioeventfds follow it.</summary>
    private void MoveBar(ulong address)
    {
        lock (_lock)
        {
            if (address == _barAddress)
            {
                return;
            }

            if (_barAddress != 0)
            {
                _mmio.Remove(_barAddress);
                for (var i = 0; i < _queues.Length; i++)
                {
                    _vm.UnregisterIoEvent(_queues[i].Kick, Notify(_barAddress, i));
                }
            }

            _logger.LogDebug("{Device}: BAR 0 moves from 0x{Old:x} to 0x{New:x}", _backend.DeviceId, _barAddress, address);
            _barAddress = address;
            if (address != 0)
            {
                _mmio.Add(address, BarSize, this);
                for (var i = 0; i < _queues.Length; i++)
                {
                    _vm.RegisterIoEvent(_queues[i].Kick, Notify(address, i));
                }
            }
        }
    }

    private static IoEventAddress Notify(ulong bar, int queue) => IoEventAddress.Mmio(bar + NotifyOffset + ((ulong)queue * NotifyMultiplier), 2);

    private void ReadCommon(uint offset, Span<byte> data)
    {
        Span<byte> cfg = stackalloc byte[64];
        lock (_lock)
        {
            Snapshot(cfg);
        }

        if (offset + data.Length > VirtioPci.CommonCfgLength)
        {
            data.Clear();
            return;
        }

        cfg.Slice((int)offset, data.Length).CopyTo(data);
    }

    private void Snapshot(Span<byte> cfg)
    {
        var features = _deviceFeatureSelect < 2 ? unchecked((uint)(_backend.Features >> (32 * (int)_deviceFeatureSelect))) : 0;
        var driver = _driverFeatureSelect < 2 ? unchecked((uint)(_driverFeatures >> (32 * (int)_driverFeatureSelect))) : 0;
        BinaryPrimitives.WriteUInt32LittleEndian(cfg[VirtioPci.DeviceFeatureSelect..], _deviceFeatureSelect);
        BinaryPrimitives.WriteUInt32LittleEndian(cfg[VirtioPci.DeviceFeature..], features);
        BinaryPrimitives.WriteUInt32LittleEndian(cfg[VirtioPci.DriverFeatureSelect..], _driverFeatureSelect);
        BinaryPrimitives.WriteUInt32LittleEndian(cfg[VirtioPci.DriverFeature..], driver);
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.ConfigMsixVector..], _configVector);
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.NumQueues..], (ushort)_queues.Length);
        cfg[VirtioPci.DeviceStatus] = (byte)_status;
        cfg[VirtioPci.ConfigGeneration] = _configGeneration;
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.QueueSelect..], _queueSelect);
        if (_queueSelect < _queues.Length)
        {
            var queue = _queues[_queueSelect];
            BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.QueueSize..], queue.Size);
            BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.QueueMsixVector..], queue.Vector);
            BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.QueueEnable..], queue.Enabled ? (ushort)1 : (ushort)0);
            BinaryPrimitives.WriteUInt16LittleEndian(cfg[VirtioPci.QueueNotifyOff..], _queueSelect);
            BinaryPrimitives.WriteUInt64LittleEndian(cfg[VirtioPci.QueueDesc..], queue.Descriptors);
            BinaryPrimitives.WriteUInt64LittleEndian(cfg[VirtioPci.QueueDriver..], queue.Driver);
            BinaryPrimitives.WriteUInt64LittleEndian(cfg[VirtioPci.QueueDevice..], queue.Device);
        }
    }

    private void WriteCommon(uint offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > VirtioPci.CommonCfgLength)
        {
            return;
        }

        lock (_lock)
        {
            // Merge the write into the current registers, then take each field it touched.
            Span<byte> cfg = stackalloc byte[64];
            Snapshot(cfg);
            data.CopyTo(cfg[(int)offset..]);
            var start = (int)offset;
            var end = start + data.Length;
            bool Touches(int field, int width) => start < field + width && field < end;

            if (Touches(VirtioPci.DeviceFeatureSelect, 4))
            {
                _deviceFeatureSelect = BinaryPrimitives.ReadUInt32LittleEndian(cfg[VirtioPci.DeviceFeatureSelect..]);
            }

            if (Touches(VirtioPci.DriverFeatureSelect, 4))
            {
                _driverFeatureSelect = BinaryPrimitives.ReadUInt32LittleEndian(cfg[VirtioPci.DriverFeatureSelect..]);
            }

            if (Touches(VirtioPci.DriverFeature, 4) && _driverFeatureSelect < 2 && !_status.HasFlag(DeviceStatus.FeaturesOk))
            {
                var shift = 32 * (int)_driverFeatureSelect;
                var word = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(cfg[VirtioPci.DriverFeature..]);
                _driverFeatures = (_driverFeatures & ~(0xffff_ffffUL << shift)) | (word << shift);
            }

            if (Touches(VirtioPci.ConfigMsixVector, 2))
            {
                _configVector = ValidVector(BinaryPrimitives.ReadUInt16LittleEndian(cfg[VirtioPci.ConfigMsixVector..]));
            }

            if (Touches(VirtioPci.QueueSelect, 2))
            {
                _queueSelect = BinaryPrimitives.ReadUInt16LittleEndian(cfg[VirtioPci.QueueSelect..]);
            }

            if (_queueSelect < _queues.Length && !_active)
            {
                WriteQueue(_queues[_queueSelect], cfg, Touches);
            }

            if (Touches(VirtioPci.DeviceStatus, 1))
            {
                SetStatus((DeviceStatus)cfg[VirtioPci.DeviceStatus]);
            }
        }
    }

    /// <summary>A queue's registers, which the driver may change only before DRIVER_OK.</summary>
    private void WriteQueue(Queue queue, ReadOnlySpan<byte> cfg, Func<int, int, bool> touches)
    {
        if (touches(VirtioPci.QueueSize, 2))
        {
            var size = BinaryPrimitives.ReadUInt16LittleEndian(cfg[VirtioPci.QueueSize..]);
            queue.Size = size is > 0 && size <= queue.MaxSize && ushort.IsPow2(size) ? size : queue.Size;
        }

        if (touches(VirtioPci.QueueMsixVector, 2))
        {
            queue.Vector = ValidVector(BinaryPrimitives.ReadUInt16LittleEndian(cfg[VirtioPci.QueueMsixVector..]));
        }

        if (touches(VirtioPci.QueueDesc, 8))
        {
            queue.Descriptors = BinaryPrimitives.ReadUInt64LittleEndian(cfg[VirtioPci.QueueDesc..]);
        }

        if (touches(VirtioPci.QueueDriver, 8))
        {
            queue.Driver = BinaryPrimitives.ReadUInt64LittleEndian(cfg[VirtioPci.QueueDriver..]);
        }

        if (touches(VirtioPci.QueueDevice, 8))
        {
            queue.Device = BinaryPrimitives.ReadUInt64LittleEndian(cfg[VirtioPci.QueueDevice..]);
        }

        if (touches(VirtioPci.QueueEnable, 2) && BinaryPrimitives.ReadUInt16LittleEndian(cfg[VirtioPci.QueueEnable..]) == 1)
        {
            queue.Enabled = true;
        }
    }

    /// <summary>A vector the table has, or NO_VECTOR: reading the register back tells the driver which it got.</summary>
    private ushort ValidVector(ushort vector) => vector < _msix.Count ? vector : VirtioPci.NoVector;

    private void SetStatus(DeviceStatus status)
    {
        if (status == DeviceStatus.None)
        {
            Reset();
            return;
        }

        if (status.HasFlag(DeviceStatus.FeaturesOk) && !_status.HasFlag(DeviceStatus.FeaturesOk))
        {
            var unknown = _driverFeatures & ~_backend.Features;
            if (unknown != 0 || (_driverFeatures & (1UL << VirtioFeature.Version1)) == 0)
            {
                _logger.LogWarning("{Device}: the driver accepted features 0x{Features:x}, not a VERSION_1 subset of 0x{Offered:x}; FEATURES_OK refused",
                    _backend.DeviceId, _driverFeatures, _backend.Features);
                status &= ~DeviceStatus.FeaturesOk;
            }
        }

        var starting = status.HasFlag(DeviceStatus.DriverOk) && !_status.HasFlag(DeviceStatus.DriverOk);
        _status = status | (_status & DeviceStatus.DeviceNeedsReset);
        if (starting && status.HasFlag(DeviceStatus.FeaturesOk))
        {
            Activate();
        }
    }

    private void Activate()
    {
        var queues = _queues.Select((q, i) => (q, i)).Where(x => x.q.Enabled)
            .Select(x => new VirtioQueueSetup(x.i, x.q.Size, x.q.Descriptors, x.q.Driver, x.q.Device, x.q.Kick, x.q.Vector == VirtioPci.NoVector ? null : _msix.Interrupt(x.q.Vector)))
            .ToList();
        _logger.LogDebug("{Device}: driver ready with features 0x{Features:x}; rings {Rings}", _backend.DeviceId, _driverFeatures, string.Join(", ", queues.Select(q => $"{q.Index}: {q.Size} at 0x{q.Descriptors:x}")));
        try
        {
            _backend.Activate(_driverFeatures, queues);
            _active = true;
        }
        catch (VirtioBackendException ex)
        {
            _logger.LogError(ex, "{Device}: could not start; the driver is told the device needs a reset", _backend.DeviceId);
            NeedsReset();
        }
    }

    private void NeedsReset()
    {
        _status |= DeviceStatus.DeviceNeedsReset;
        _configGeneration++;
        if (_configVector != VirtioPci.NoVector)
        {
            _msix.Interrupt(_configVector).Signal();
        }
    }

    private void Reset()
    {
        StopBackend();
        _status = DeviceStatus.None;
        _driverFeatures = 0;
        _deviceFeatureSelect = _driverFeatureSelect = 0;
        _configVector = VirtioPci.NoVector;
        _queueSelect = 0;
        foreach (var queue in _queues)
        {
            queue.Clear();
        }
    }

    private void StopBackend()
    {
        if (_active)
        {
            _active = false;
            _backend.Reset();
        }
    }

    private sealed class Queue(int maxSize, EventFd kick)
    {
        public int MaxSize { get; } = maxSize;

        public EventFd Kick { get; } = kick;

        public ushort Size { get; set; } = (ushort)maxSize;

        public ushort Vector { get; set; } = VirtioPci.NoVector;

        public bool Enabled { get; set; }

        public ulong Descriptors { get; set; }

        public ulong Driver { get; set; }

        public ulong Device { get; set; }

        public void Clear()
        {
            Size = (ushort)MaxSize;
            Vector = VirtioPci.NoVector;
            Enabled = false;
            Descriptors = Driver = Device = 0;
        }
    }

    private sealed class PciCfgWindow(VirtioPciDevice device) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            Span<byte> window = stackalloc byte[4];
            if (device.PciCfgTarget(out var target, out var length))
            {
                device.Read(target, window[..length]);
            }

            window.Slice((int)offset, data.Length).CopyTo(data);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            var at = device._pciCfgCapability + VirtioPci.PciCfgData;
            device._config.WriteRaw(at + (int)offset, data);
            if (device.PciCfgTarget(out var target, out var length))
            {
                Span<byte> window = stackalloc byte[4];
                device._config.ReadRaw(at, window);
                device.Write(target, window[..length]);
            }
        }
    }
}
