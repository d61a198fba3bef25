using System.Buffers.Binary;
using IoVirt.Hypervisor;
using IoVirt.Interop;

namespace IoVirt.Machine.Pci;

/// <summary>
/// A function's MSI-X table and pending bits, with each vector delivered by the hypervisor: an
/// eventfd (irqfd) injects the vector's GSI, routed to the message the driver wrote. A vector
/// is connected only while MSI-X is on, the function unmasked and the vector unmasked; a signal
/// while disconnected stays in the eventfd, shows as the vector's pending bit, and is delivered
/// when it connects again (KVM injects an irqfd that is already signalled when it is assigned).
/// </summary>
public sealed class MsixTable : IDisposable
{
    public const byte CapabilityId = 0x11;
    public const int EntrySize = 16;
    private const ushort ControlEnable = 0x8000, ControlFunctionMask = 0x4000;
    private const uint VectorMasked = 1;

    private readonly Lock _lock = new();
    private readonly IVirtualMachine _vm;
    private readonly MsiRouter _router;
    private readonly Vector[] _vectors;
    private bool _enabled;
    private bool _functionMasked;

    public MsixTable(IVirtualMachine vm, MsiRouter router, int count)
    {
        _vm = vm;
        _router = router;
        _vectors = new Vector[count];
        for (var i = 0; i < count; i++)
        {
            _vectors[i] = new Vector(router.AllocateGsi(), EventFd.Create());
        }
    }

    public int Count => _vectors.Length;

    /// <summary>The eventfd that raises vector <paramref name="index"/> (a vhost-user back end's call fd).</summary>
    public EventFd Interrupt(int index) => _vectors[index].Irq;

    /// <summary>The capability's body after ID and next: control, table and PBA offsets (both in <paramref name="bar"/>).</summary>
    public byte[] Capability(int bar, uint tableOffset, uint pbaOffset)
    {
        var body = new byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)(Count - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(2), tableOffset | (uint)bar);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(6), pbaOffset | (uint)bar);
        return body;
    }

    /// <summary>Which bits of the capability body the driver may write: enable and function mask.</summary>
    public static byte[] CapabilityMask => [0x00, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>The driver wrote the capability's control word.</summary>
    public void SetControl(ushort control)
    {
        lock (_lock)
        {
            _enabled = (control & ControlEnable) != 0;
            _functionMasked = (control & ControlFunctionMask) != 0;
            for (var i = 0; i < _vectors.Length; i++)
            {
                Connect(i);
            }
        }
    }

    /// <summary>An access to the table (offset within it).</summary>
    public IBusDevice Table => new TableAccess(this);

    /// <summary>The pending bit array: a vector's bit is set while it is disconnected and its eventfd holds a signal.</summary>
    public IBusDevice PendingBits => new PendingAccess(this);

    /// <summary>
    /// Vector <paramref name="index"/> as it stands, for a person finding out why a guest waits:
    /// live (routed to the guest) or why not, and, when not, whether a signal waits in its eventfd (its pending bit).
    /// </summary>
    public string Describe(int index)
    {
        lock (_lock)
        {
            var vector = _vectors[index];
            var state = vector.Connected ? "live" : !_enabled ? "MSI-X off" : _functionMasked ? "function masked" : "masked";
            return $"vector {index} {state}{(vector.Pending ? ", signal pending" : string.Empty)}";
        }
    }

    public void Dispose()
    {
        foreach (var vector in _vectors)
        {
            vector.Irq.Dispose();
        }
    }

    private void ReadTable(ulong offset, Span<byte> data)
    {
        var index = (int)(offset / EntrySize);
        if (index >= _vectors.Length || offset % 4 != 0 || data.Length is not (4 or 8))
        {
            data.Fill(0xff);
            return;
        }

        lock (_lock)
        {
            Span<byte> entry = stackalloc byte[EntrySize];
            var vector = _vectors[index];
            BinaryPrimitives.WriteUInt64LittleEndian(entry, vector.Address);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], vector.Data);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], vector.Control);
            var at = (int)(offset % EntrySize);
            entry.Slice(at, Math.Min(data.Length, EntrySize - at)).CopyTo(data);
        }
    }

    private void ReadPending(ulong offset, Span<byte> data)
    {
        data.Clear();
        lock (_lock)
        {
            for (var i = 0; i < data.Length; i++)
            {
                for (var bit = 0; bit < 8; bit++)
                {
                    var index = ((offset + (ulong)i) * 8) + (ulong)bit;
                    if (index < (ulong)_vectors.Length && _vectors[index].Pending)
                    {
                        data[i] |= (byte)(1 << bit);
                    }
                }
            }
        }
    }

    private void WriteTable(ulong offset, ReadOnlySpan<byte> data)
    {
        var index = (int)(offset / EntrySize);
        if (index >= _vectors.Length || offset % 4 != 0 || data.Length is not (4 or 8))
        {
            return;
        }

        lock (_lock)
        {
            var vector = _vectors[index];
            Span<byte> entry = stackalloc byte[EntrySize];
            BinaryPrimitives.WriteUInt64LittleEndian(entry, vector.Address);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], vector.Data);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], vector.Control);
            var at = (int)(offset % EntrySize);
            data[..Math.Min(data.Length, EntrySize - at)].CopyTo(entry[at..]);
            vector.Address = BinaryPrimitives.ReadUInt64LittleEndian(entry);
            vector.Data = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            vector.Control = BinaryPrimitives.ReadUInt32LittleEndian(entry[12..]) & VectorMasked;
            Connect(index);
        }
    }

    /// <summary>Routes and connects vector <paramref name="index"/> if it may fire now, disconnects it if not.</summary>
    private void Connect(int index)
    {
        var vector = _vectors[index];
        var live = _enabled && !_functionMasked && (vector.Control & VectorMasked) == 0;
        if (live)
        {
            // The route changes only while the vector is masked, by the rules of MSI-X; setting
            // it on every connect is what makes a changed message take effect.
            _router.Route(vector.Gsi, vector.Address, vector.Data);
        }

        if (live != vector.Connected)
        {
            if (live)
            {
                _vm.RegisterIrqEvent(vector.Irq, vector.Gsi);
            }
            else
            {
                _vm.UnregisterIrqEvent(vector.Irq, vector.Gsi);
            }

            vector.Connected = live;
        }
    }

    private sealed class Vector(uint gsi, EventFd irq)
    {
        public uint Gsi { get; } = gsi;

        public EventFd Irq { get; } = irq;

        public ulong Address { get; set; }

        public uint Data { get; set; }

        /// <summary>Vectors start masked (MSI-X 6.8.2.9).</summary>
        public uint Control { get; set; } = VectorMasked;

        public bool Connected { get; set; }

        /// <summary>Its pending bit: disconnected, with a signal waiting in its eventfd for the connect that delivers it.</summary>
        public bool Pending => !Connected && Irq.IsSignalled;
    }

    private sealed class TableAccess(MsixTable table) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data) => table.ReadTable(offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => table.WriteTable(offset, data);
    }

    /// <summary>Pending bits: read-only, computed from the vectors on each read (Linux never polls them; firmware and other drivers may).</summary>
    private sealed class PendingAccess(MsixTable table) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data) => table.ReadPending(offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
        }
    }
}
