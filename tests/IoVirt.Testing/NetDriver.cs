using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Testing;

/// <summary>
/// The guest's side of a virtio-net device reached over vhost-user, as a driver would run it,
/// with memory laid out as on a <see cref="VhostUserTestBed"/>: queue pair 0 and the control queue over a real socket, receive buffers of a
/// fixed size, transmit and control buffers in their own areas of the shared memory.
/// </summary>
public sealed unsafe class NetDriver : IDisposable
{
    private const ulong RxArea = VhostUserTestBed.DataBase;
    private const ulong TxArea = RxArea + (1 << 20);
    private const ulong ControlArea = TxArea + (1 << 20);
    private const int TxSlot = 16 << 10;

    private readonly GuestMemory _memory;
    private readonly VhostUserFrontend _frontend;
    private readonly FrontendQueue _rx;
    private readonly FrontendQueue _tx;
    private readonly FrontendQueue? _control;
    private readonly Dictionary<ushort, int> _rxSlotOfId = [];
    private int _txNext;
    private int _rxNext;

    /// <param name="socketPath">The back end's socket.</param>
    /// <param name="memory">Shared guest memory laid out as a <see cref="VhostUserTestBed"/>'s.</param>
    /// <param name="features">Device feature bits the driver accepts (transport bits included); the offered subset is negotiated.</param>
    /// <param name="queueSize">Entries per data ring.</param>
    /// <param name="rxBufferSize">Bytes per receive buffer.</param>
    /// <param name="pairs">The device's queue pairs (the control queue's index is twice that); only pair 0 is driven.</param>
    public NetDriver(string socketPath, GuestMemory memory, ulong features, int queueSize = 64, int rxBufferSize = 2048, int pairs = 1)
    {
        _memory = memory;
        QueueSize = queueSize;
        RxBufferSize = rxBufferSize;
        _frontend = VhostUserFrontend.Connect(socketPath);
        Offered = _frontend.GetFeatures();
        var protocol = _frontend.GetProtocolFeatures();
        _frontend.SetProtocolFeatures(protocol & (VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.Rarp));
        _frontend.SetOwner();
        Features = Offered & (features | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures));
        _frontend.SetFeatures(Features);
        _frontend.SetMemTable(memory);
        var packed = Has(VirtioFeature.RingPacked);
        var eventIdx = Has(VirtioFeature.RingEventIdx);
        _rx = FrontendQueue.Start(_frontend, memory, 0, queueSize, packed, eventIdx, VhostUserTestBed.RingBase(0));
        _tx = FrontendQueue.Start(_frontend, memory, 1, queueSize, packed, eventIdx, VhostUserTestBed.RingBase(1));
        _frontend.SetVringEnable(0, true);
        _frontend.SetVringEnable(1, true);
        if (Has(VirtioNetFeature.CtrlVq))
        {
            var index = (uint)(2 * pairs);
            _control = FrontendQueue.Start(_frontend, memory, index, 16, packed, eventIdx, VhostUserTestBed.RingBase(2));
            _frontend.SetVringEnable(index, true);
        }
    }

    public ulong Offered { get; }

    public ulong Features { get; }

    public int QueueSize { get; }

    public int RxBufferSize { get; }

    public VhostUserFrontend Frontend => _frontend;

    public bool Has(int feature) => (Features & VirtioFeature.Bit(feature)) != 0;

    /// <summary>Gives the device <paramref name="count"/> receive buffers (one descriptor each).</summary>
    public void PostReceiveBuffers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            // Receive buffers are used in order, so a slot comes round again only after its packet was taken.
            var slot = _rxNext++ % QueueSize;
            if (!_rx.Driver.TryAdd([new DriverBuffer(RxArea + ((ulong)slot * (ulong)RxBufferSize), (uint)RxBufferSize, true)], indirect: false, out var id))
            {
                break;
            }

            _rxSlotOfId[id] = slot;
        }

        _rx.Submit();
    }

    /// <summary>Sends a packet: <paramref name="header"/> (12 bytes) and <paramref name="frame"/>, in <paramref name="pieces"/> descriptors.</summary>
    public void Send(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, int pieces = 1)
    {
        while (_tx.Driver.TryTakeUsed(out _, out _))
        {
            // Reclaim completed transmit chains, as a driver does before adding more.
        }

        var slot = TxArea + ((ulong)(_txNext++ % 64) * TxSlot);
        var bytes = new byte[header.Length + frame.Length];
        header.CopyTo(bytes);
        frame.CopyTo(bytes.AsSpan(header.Length));
        Assert(_memory.Write(slot, bytes) == MemoryFault.None);
        Span<DriverBuffer> chain = stackalloc DriverBuffer[pieces];
        var step = (bytes.Length + pieces - 1) / pieces;
        var used = 0;
        for (var i = 0; i < pieces; i++)
        {
            var length = Math.Min(step, bytes.Length - used);
            chain[i] = new DriverBuffer(slot + (ulong)used, (uint)length, false);
            used += length;
        }

        Assert(_tx.Driver.TryAdd(chain, indirect: false, out _));
        _tx.Submit();
    }

    /// <summary>Sends a raw chain (any buffers), for malformed transmit tests.</summary>
    public void SendChain(ReadOnlySpan<DriverBuffer> chain)
    {
        Assert(_tx.Driver.TryAdd(chain, indirect: false, out _));
        _tx.Submit();
    }

    /// <summary>A transmit buffer's guest address, for hand-made chains.</summary>
    public ulong TxBuffer(int slot) => TxArea + ((ulong)slot * TxSlot);

    /// <summary>Waits until the device completed every transmitted chain.</summary>
    public bool WaitTransmitted(int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (_tx.Driver.Outstanding > 0)
        {
            var left = (int)(deadline - Environment.TickCount64);
            if (left <= 0 || !_tx.TryWaitUsed(out _, out _, left))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Takes the next received packet: its header and frame, merged from num_buffers buffers
    /// when the device spread it; null after <paramref name="timeoutMs"/>. <paramref name="buffers"/>
    /// is how many used buffers it took (0-length ones included).
    /// </summary>
    public byte[]? Receive(out int buffers, int timeoutMs = 5000)
    {
        buffers = 0;
        if (!_rx.TryWaitUsed(out var id, out var length, timeoutMs))
        {
            return null;
        }

        buffers = 1;
        var packet = new List<byte>(Read(id, length));
        if (length < VirtioNetHdr.Size || !Has(VirtioNetFeature.MrgRxbuf))
        {
            return [.. packet];
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(packet.ToArray().AsSpan(VirtioNetHdr.NumBuffersOffset));
        for (; buffers < count; buffers++)
        {
            if (!_rx.TryWaitUsed(out id, out length, timeoutMs))
            {
                throw new TimeoutException($"packet of {count} buffers ended after {buffers}");
            }

            packet.AddRange(Read(id, length));
        }

        return [.. packet];
    }

    /// <summary>Runs one control command and returns the ack byte the device wrote (0xee when it wrote none).</summary>
    public byte Control(VirtioNetCtrlClass cls, byte command, ReadOnlySpan<byte> data, bool withAck = true)
    {
        if (_control is null)
        {
            throw new InvalidOperationException("no control queue negotiated");
        }

        var bytes = new byte[2 + data.Length];
        bytes[0] = (byte)cls;
        bytes[1] = command;
        data.CopyTo(bytes.AsSpan(2));
        var ack = ControlArea + 4096;
        Assert(_memory.Write(ControlArea, bytes) == MemoryFault.None);
        Assert(_memory.Write(ack, [0xee]) == MemoryFault.None);
        DriverBuffer[] chain = withAck
            ? [new DriverBuffer(ControlArea, (uint)bytes.Length, false), new DriverBuffer(ack, 1, true)]
            : [new DriverBuffer(ControlArea, (uint)bytes.Length, false)];
        Assert(_control.Driver.TryAdd(chain, indirect: false, out _));
        _control.Submit();
        Assert(_control.TryWaitUsed(out _, out _, 5000));
        Span<byte> result = stackalloc byte[1];
        Assert(_memory.Read(ack, result) == MemoryFault.None);
        return result[0];
    }

    private byte[] Read(ushort id, uint length)
    {
        var bytes = new byte[length];
        Assert(_memory.Read(RxArea + ((ulong)_rxSlotOfId[id] * (ulong)RxBufferSize), bytes) == MemoryFault.None);
        return bytes;
    }

    private static void Assert(bool condition)
    {
        if (!condition)
        {
            throw new InvalidOperationException("the test driver's own step failed");
        }
    }

    public void Dispose()
    {
        _frontend.Dispose();
        _rx.Dispose();
        _tx.Dispose();
        _control?.Dispose();
    }
}
