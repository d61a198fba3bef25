using System.Runtime.InteropServices;
using IoVirt.Arbitration;
using IoVirt.Interop;
using IoVirt.Memory;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// A queue's engine when its device shares the image with other tenants: each operation is held
/// here, priced by the cost model and handed to the <see cref="DeviceArbiter"/>, and goes to the
/// real engine only once the arbiter grants it. Grants released on another thread wake this
/// queue's worker through the engine's completion eventfd (or one of its own when the real engine
/// completes inline). Held operations keep a copy of their buffer list, as the queue reuses its own.
/// </summary>
internal sealed unsafe class ArbitratedBlockEngine : IBlockEngine
{
    private const int GrantBatch = 64;

    private readonly IBlockEngine _device;
    private readonly ArbiterClient _client;
    private readonly BlockCostModel _costs;
    private readonly EventFd _wakeup;
    private readonly bool _ownsWakeup;
    private readonly ManualResetEventSlim _granted = new();
    private HeldOperation[] _operations;
    private int[] _free;
    private int _freeCount;
    private int _onDevice;
    private long _lastEnd = -1;

    public ArbitratedBlockEngine(IBlockEngine device, BlkArbitration arbitration, int depth)
    {
        _device = device;
        _costs = arbitration.Costs;
        _ownsWakeup = device.CompletionEvent < 0;
        _wakeup = _ownsWakeup ? EventFd.Create() : EventFd.Adopt(new SafeFileHandle(device.CompletionEvent, ownsHandle: false));
        _operations = [];
        _free = [];
        Grow(Math.Max(16, depth));
        _client = arbitration.Arbiter.Connect(arbitration.Tenant, _operations.Length, Wake);
    }

    public int CompletionEvent => _wakeup.Fd;

    public string? UseMemory(GuestMemory memory) => _device.UseMemory(memory);

    public void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers) => Hold(OperationKind.Read, tag, offset, buffers, durable: false);

    public void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable) => Hold(OperationKind.Write, tag, offset, buffers, durable);

    public void Flush(ulong tag) => HoldWithoutData(OperationKind.Flush, tag, 0, 0, 0);

    public void Allocate(ulong tag, int mode, long offset, long length) => HoldWithoutData(OperationKind.Allocate, tag, mode, offset, length);

    public void Submit() => StartGranted();

    public bool TryTakeCompletion(out ulong tag, out int result)
    {
        while (true)
        {
            if (_device.TryTakeCompletion(out var index, out result))
            {
                tag = _operations[(int)index].Tag;
                _client.Complete((int)index);
                _free[_freeCount++] = (int)index;
                _onDevice--;
                return true;
            }

            // Hand the completions in (they may free the window for requests still held), and start what that granted.
            if ((!_client.HasNotes && _client.Waiting == 0) || StartGranted() == 0)
            {
                tag = 0;
                return false;
            }
        }
    }

    public void WaitForCompletion()
    {
        if (_onDevice > 0)
        {
            _device.WaitForCompletion();
            return;
        }

        while (_client.Waiting > 0)
        {
            _granted.Reset();
            if (StartGranted() > 0)
            {
                return;
            }

            _granted.Wait();
        }
    }

    private void Hold(OperationKind kind, ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable)
    {
        var index = Take();
        ref var operation = ref _operations[index];
        if (operation.VectorCapacity < buffers.Length)
        {
            operation.Vectors = (iovec*)NativeMemory.Realloc(operation.Vectors, (nuint)(buffers.Length * sizeof(iovec)));
            operation.VectorCapacity = buffers.Length;
        }

        buffers.CopyTo(new Span<iovec>(operation.Vectors, buffers.Length));
        operation.Kind = kind;
        operation.Tag = tag;
        operation.Offset = offset;
        operation.VectorCount = buffers.Length;
        operation.Durable = durable;
        long bytes = 0;
        foreach (ref readonly var buffer in buffers)
        {
            bytes += (long)(ulong)buffer.iov_len;
        }

        var sequential = offset == _lastEnd;
        _lastEnd = offset + bytes;
        _client.Request(index, _costs.CostUnits(kind == OperationKind.Write, sequential, bytes), bytes);
    }

    /// <summary>A FLUSH or a discard/write-zeroes range: no buffers, and the cost of one random write.</summary>
    private void HoldWithoutData(OperationKind kind, ulong tag, int mode, long offset, long length)
    {
        var index = Take();
        ref var operation = ref _operations[index];
        operation.Kind = kind;
        operation.Tag = tag;
        operation.Mode = mode;
        operation.Offset = offset;
        operation.Length = length;
        operation.VectorCount = 0;
        _client.Request(index, _costs.CostUnits(write: true, sequential: false, 0), 0);
    }

    /// <summary>Hands notes to the arbiter and sends every granted operation to the device; how many were sent.</summary>
    private int StartGranted()
    {
        Span<int> granted = stackalloc int[GrantBatch];
        var started = 0;
        int n;
        do
        {
            n = _client.Exchange(granted);
            foreach (var index in granted[..n])
            {
                Start(ref _operations[index], index);
            }

            started += n;
        }
        while (n == GrantBatch);

        if (started > 0)
        {
            _device.Submit();
        }

        return started;
    }

    private void Start(ref HeldOperation operation, int index)
    {
        _onDevice++;
        var buffers = new ReadOnlySpan<iovec>(operation.Vectors, operation.VectorCount);
        switch (operation.Kind)
        {
            case OperationKind.Read:
                _device.Read((ulong)index, operation.Offset, buffers);
                break;
            case OperationKind.Write:
                _device.Write((ulong)index, operation.Offset, buffers, operation.Durable);
                break;
            case OperationKind.Flush:
                _device.Flush((ulong)index);
                break;
            default:
                _device.Allocate((ulong)index, operation.Mode, operation.Offset, operation.Length);
                break;
        }
    }

    private int Take()
    {
        if (_freeCount == 0)
        {
            // More operations held at once than ever before (a burst of multi-range discards): grow, once.
            Grow(_operations.Length * 2);
            _client.EnsureCapacity(_operations.Length);
        }

        return _free[--_freeCount];
    }

    private void Grow(int capacity)
    {
        var old = _operations.Length;
        Array.Resize(ref _operations, capacity);
        Array.Resize(ref _free, capacity);
        for (var i = capacity - 1; i >= old; i--)
        {
            _free[_freeCount++] = i;
        }
    }

    private void Wake()
    {
        _wakeup.Signal();
        _granted.Set();
    }

    public void Dispose()
    {
        // The device first: what it still had finishes there before the arbiter counts it gone.
        try
        {
            _device.Dispose();
        }
        finally
        {
            _client.Dispose();
        }

        foreach (var operation in _operations)
        {
            NativeMemory.Free(operation.Vectors);
        }

        if (_ownsWakeup)
        {
            _wakeup.Dispose();
        }

        _granted.Dispose();
    }

    private enum OperationKind : byte
    {
        Read,
        Write,
        Flush,
        Allocate,
    }

    /// <summary>An operation between the queue's call and its completion on the device.</summary>
    private struct HeldOperation
    {
        public OperationKind Kind;
        public bool Durable;
        public ulong Tag;
        public long Offset;
        public long Length;
        public int Mode;
        public iovec* Vectors;
        public int VectorCount;
        public int VectorCapacity;
    }
}
