using System.Buffers.Binary;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue;
using Microsoft.Extensions.Logging.Abstractions;

// dotnet run -- /tmp/vsock.sock: serves there until stdin closes, to QEMU's
// -device vhost-user-vsock-pci,chardev=...: the guest (CID 3) connects to the host (CID 2) on
// port 1234, and what it writes comes back to it.
using var server = new VhostUserServer(args[0], new EchoVsock(guestCid: 3, port: 1234), NullLogger.Instance);
server.Start();
Console.In.ReadToEnd();

/// <summary>
/// virtio-vsock (virtio 1.2 §5.10) with a stream echo service on one host port: queue 0 carries
/// packets to the guest, queue 1 from it (QEMU keeps the event queue). A packet is a 44-byte
/// header and its payload; the guest's bytes are echoed in RW packets within the room the guest
/// has said it has (its buf_alloc less what it has not yet consumed).
/// </summary>
sealed class EchoVsock(ulong guestCid, uint port) : VirtioDeviceModel
{
    private const int Receive = 0, Transmit = 1, HeaderSize = 44;
    private const ulong HostCid = 2;
    private const ushort Stream = 1, Request = 1, Response = 2, Reset = 3, Shutdown = 4, ReadWrite = 5, CreditUpdate = 6, CreditRequest = 7;
    private const uint BufferSpace = 64 * 1024;

    private readonly byte[] _config = BitConverter.GetBytes(guestCid); // le64 guest_cid (x86 is little-endian)
    private readonly List<byte[]> _toGuest = new();
    private readonly Dictionary<uint, Connection> _connections = new();
    private readonly EventFd _packetsWaiting = EventFd.Create();

    public override string Name => "echo-vsock";
    public override ulong Features => RingFeatures;
    public override int QueueCount => 2;
    public override ReadOnlySpan<byte> ConfigSpace => _config;

    // One worker for both queues: packets move from one to the other without locks.
    public override int WorkerGroup(int queueIndex) => 0;

    // The receive queue is processed when the guest adds buffers or packets wait for them.
    public override int QueueEventSource(int queueIndex) => queueIndex == Receive ? _packetsWaiting.Fd : -1;
    public override bool WaitsForEventSource(int queueIndex) => queueIndex == Receive;

    public override void ProcessQueue(int queueIndex, DeviceQueue queue)
    {
        if (queueIndex == Transmit)
        {
            TakePackets(queue);
        }
        else
        {
            _packetsWaiting.TryConsume();
            Deliver(queue);
        }
    }

    private void TakePackets(DeviceQueue queue)
    {
        var waiting = _toGuest.Count;
        while (queue.TryPop(out var chain))
        {
            var packet = new List<byte>();
            while (chain.TryGetNext(out var buffer) && !buffer.IsWritable)
            {
                var bytes = new byte[buffer.Length];
                if (queue.Memory.Read(buffer.GuestAddress, bytes) != MemoryFault.None) return; // outside guest memory: stop
                packet.AddRange(bytes);
            }

            if (chain.Error != QueueError.None) return; // a broken ring: stop, never guess
            queue.AddUsed(chain.Head, 0);
            Handle(packet.ToArray());
        }

        if (_toGuest.Count > waiting) _packetsWaiting.Signal();
    }

    private void Handle(byte[] packet)
    {
        if (packet.Length < HeaderSize) return; // not a packet
        var header = packet.AsSpan();
        var destinationCid = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        var guestPort = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
        var destinationPort = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        var op = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
        var payload = packet.AsSpan(HeaderSize, (int)Math.Min(length, (uint)(packet.Length - HeaderSize)));
        if (type != Stream || destinationCid != HostCid || destinationPort != port)
        {
            if (op != Reset) Send(guestPort, destinationPort, Reset, default);
            return;
        }

        if (op == Request) _connections[guestPort] = new Connection();
        _connections.TryGetValue(guestPort, out var connection);
        connection?.Heard(BinaryPrimitives.ReadUInt32LittleEndian(header[36..]), BinaryPrimitives.ReadUInt32LittleEndian(header[40..]));
        switch (op)
        {
            case Request:
                Send(guestPort, port, Response, default);
                break;
            case ReadWrite when connection is not null:
                connection.Received += (uint)payload.Length;
                if (connection.Room < payload.Length)
                {
                    // A real service would hold the bytes until a credit update; this one gives up.
                    _connections.Remove(guestPort);
                    Send(guestPort, port, Reset, default);
                    break;
                }

                connection.Sent += (uint)payload.Length;
                Send(guestPort, port, ReadWrite, payload);
                break;
            case CreditRequest when connection is not null:
                Send(guestPort, port, CreditUpdate, default);
                break;
            case CreditUpdate when connection is not null:
                break;
            case Shutdown or Reset:
                _connections.Remove(guestPort);
                if (op == Shutdown) Send(guestPort, port, Reset, default);
                break;
            default:
                Send(guestPort, port, Reset, default);
                break;
        }
    }

    private void Send(uint guestPort, uint hostPort, ushort op, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[HeaderSize + payload.Length];
        var header = packet.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(header, HostCid);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], guestCid);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], hostPort);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], guestPort);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[28..], Stream);
        BinaryPrimitives.WriteUInt16LittleEndian(header[30..], op);
        BinaryPrimitives.WriteUInt32LittleEndian(header[36..], BufferSpace);
        BinaryPrimitives.WriteUInt32LittleEndian(header[40..], _connections.TryGetValue(guestPort, out var c) ? c.Received : 0);
        payload.CopyTo(header[HeaderSize..]);
        _toGuest.Add(packet);
    }

    /// <summary>Fills the guest's receive buffers with waiting packets, splitting a payload larger than a buffer.</summary>
    private void Deliver(DeviceQueue queue)
    {
        while (_toGuest.Count > 0 && queue.TryPop(out var chain))
        {
            var buffers = new List<VirtqBuffer>();
            while (chain.TryGetNext(out var buffer) && buffer.IsWritable) buffers.Add(buffer);
            if (chain.Error != QueueError.None) return;
            var room = (int)Math.Min(buffers.Sum(b => (long)b.Length), int.MaxValue);
            if (room < HeaderSize)
            {
                queue.UndoLastPop(); // too small for any packet: a driver that offers such buffers gets nothing
                return;
            }

            var packet = TakeFitting(room);
            var at = 0;
            foreach (var buffer in buffers)
            {
                var part = Math.Min((int)buffer.Length, packet.Length - at);
                if (part == 0) break;
                if (queue.Memory.Write(buffer.GuestAddress, packet.AsSpan(at, part)) != MemoryFault.None) return;
                at += part;
            }

            queue.AddUsed(chain.Head, (uint)packet.Length);
        }
    }

    /// <summary>The first waiting packet, or as much of its payload as fits in <paramref name="room"/> (the rest stays first in line).</summary>
    private byte[] TakeFitting(int room)
    {
        var packet = _toGuest[0];
        if (packet.Length <= room)
        {
            _toGuest.RemoveAt(0);
            return packet;
        }

        var first = packet[..room];
        var rest = new byte[packet.Length - room + HeaderSize];
        packet.AsSpan(0, HeaderSize).CopyTo(rest);
        packet.AsSpan(room).CopyTo(rest.AsSpan(HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(first.AsSpan(24), (uint)(room - HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(rest.AsSpan(24), (uint)(rest.Length - HeaderSize));
        _toGuest[0] = rest;
        return first;
    }

    /// <summary>One guest socket's credit: what this device has heard and sent, and the guest's room.</summary>
    private sealed class Connection
    {
        private uint _bufferSpace, _forwarded;

        public uint Received { get; set; }
        public uint Sent { get; set; }
        public long Room => _bufferSpace - (long)(uint)(Sent - _forwarded);

        public void Heard(uint bufferSpace, uint forwarded) => (_bufferSpace, _forwarded) = (bufferSpace, forwarded);
    }
}
