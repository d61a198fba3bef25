using IoVirt.Abi.Net;

namespace IoVirt.Backends.Net.Ports;

/// <summary>
/// Returns every frame to the guest on the queue pair it came from, with source and destination
/// MACs swapped (a loopback without the kernel, for tests and benchmarks). Each pair keeps a
/// bounded FIFO of slots; a frame that finds it full is dropped. Transmit and receive of one
/// pair run on the same worker, so the FIFO needs no lock, and no eventfd: the worker asks
/// <see cref="HasPacketsFromSameThread"/> before it sleeps, so a frame goes out and back in one
/// polling loop with no system call.
/// </summary>
public sealed class EchoPort : INetPort
{
    /// <summary>Bytes of FIFO per pair; at least 16 packets fit whatever the MTU.</summary>
    public const int FifoBytes = 1 << 20;

    private readonly Fifo[] _fifos;

    public EchoPort(int pairs, int maxFrame)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pairs, 1);
        var slot = VirtioNetHdr.Size + maxFrame;
        var slots = Math.Max(16, FifoBytes / slot);
        _fifos = new Fifo[pairs];
        for (var i = 0; i < pairs; i++)
        {
            _fifos[i] = new Fifo(slots, slot);
        }
    }

    public string Description => $"echo, {_fifos.Length} queue pair(s)";

    public NetOffloads TransmitOffloads => NetOffloads.None;

    public NetOffloads ReceiveOffloads => NetOffloads.None;

    public void AcceptOffloads(NetOffloads offloads)
    {
    }

    public bool Transmit(int pair, ReadOnlySpan<byte> packet)
    {
        var fifo = _fifos[pair];
        if (fifo.Count == fifo.Slots || packet.Length > fifo.SlotSize)
        {
            return false;
        }

        var slot = fifo.Data.AsSpan(fifo.Tail * fifo.SlotSize, packet.Length);
        packet.CopyTo(slot);
        // Swap the MACs: what went out from the guest comes back addressed to it.
        var frame = slot[VirtioNetHdr.Size..];
        Span<byte> destination = stackalloc byte[6];
        frame[..6].CopyTo(destination);
        frame.Slice(6, 6).CopyTo(frame);
        destination.CopyTo(frame.Slice(6, 6));
        slot[..VirtioNetHdr.Size].Clear();
        fifo.Lengths[fifo.Tail] = packet.Length;
        fifo.Tail = fifo.Tail + 1 == fifo.Slots ? 0 : fifo.Tail + 1;
        fifo.Count++;
        return true;
    }

    public void TransmitBurstDone(int pair)
    {
    }

    public int Receive(int pair, Span<byte> destination)
    {
        var fifo = _fifos[pair];
        if (fifo.Count == 0)
        {
            return 0;
        }

        var length = fifo.Lengths[fifo.Head];
        fifo.Data.AsSpan(fifo.Head * fifo.SlotSize, length).CopyTo(destination);
        fifo.Count--;

        // An emptied FIFO starts again at its first slot: a burst that goes out and comes back
        // within one round then stays in the same few slots, warm in the cache, instead of
        // walking through the whole megabyte.
        fifo.Head = fifo.Count == 0 ? (fifo.Tail = 0) : fifo.Head + 1 == fifo.Slots ? 0 : fifo.Head + 1;
        return length;
    }

    public int ReceiveEventSource(int pair) => -1;

    public bool HasPacketsFromSameThread(int pair) => _fifos[pair].Count > 0;

    public void Reset()
    {
        foreach (var fifo in _fifos)
        {
            fifo.Head = fifo.Tail = fifo.Count = 0;
        }
    }

    public void Dispose()
    {
    }

    private sealed class Fifo(int slots, int slotSize)
    {
        public readonly int Slots = slots;
        public readonly int SlotSize = slotSize;
        public readonly byte[] Data = GC.AllocateUninitializedArray<byte>(slots * slotSize);
        public readonly int[] Lengths = new int[slots];
        public int Head;
        public int Tail;
        public int Count;
    }
}
