using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Properties;

/// <summary>
/// Runs a program of driver and device steps against one queue harness and checks every step
/// against a plain model: the device sees exactly the chains published, in order, with their
/// buffers; the driver gets back exactly the completions, in order, with their lengths; and every
/// notification decision equals the spec's rule computed on absolute (never wrapping) counters.
/// </summary>
internal sealed class QueueModel(QueueHarness h, bool packed, bool eventIdx, bool indirect)
{
    private const int SlotBytes = 512;
    private readonly Queue<(int Chain, DriverBuffer[] Buffers, int Slots)> _published = new();
    private readonly List<(int Chain, ChainHead Head, uint Writable)> _popped = [];
    private readonly Queue<(ushort Id, uint Length)> _completed = new();
    private readonly Dictionary<ushort, int> _chainOfId = [];
    private readonly List<(int Chain, DriverBuffer[] Buffers, int Slots)> _added = [];
    private int _nextChain;

    // Absolute counters (ring slots for packed, entries for split) and the suppression state each side asked for.
    private long _addedSlots;
    private long _publishedSlots;
    private long _kickedSlots;
    private long _poppedSlots;
    private long _usedSlots;
    private long _signalledSlots;
    private long _takenSlots;
    private Mode _interruptMode = Mode.Enable;
    private long _interruptEvent;
    private Mode _kickMode = Mode.Enable;
    private long _kickEvent;

    private enum Mode
    {
        Enable,
        Disable,
        Desc,
    }

    public int RoundTrips { get; private set; }

    public void Run(IEnumerable<Step> steps)
    {
        // With EVENT_IDX a split ring's event fields start at zero: a pending request for index 0.
        if (eventIdx && !packed)
        {
            _interruptMode = _kickMode = Mode.Desc;
        }

        foreach (var step in steps)
        {
            Apply(step);
            Assert.Equal(QueueError.None, h.Device.Fault);
            Assert.Equal(QueueError.None, h.Driver.Fault);
        }

        // Drain: everything outstanding completes and comes back.
        Apply(new Step(1, 0, 0, 0));
        Apply(new Step(2, 255, 0, 0));
        Apply(new Step(3, 0, 0, 0));
        Assert.Empty(_published);
        Assert.Empty(_popped);
        Assert.Equal(0, h.Driver.Outstanding);
        Assert.Equal(h.Config.Size, h.Driver.FreeSlots);
    }

    private void Apply(Step step)
    {
        switch (step.Kind % 8)
        {
            case 0:
                AddAndPublish(step);
                break;
            case 1:
                PopAll();
                break;
            case 2:
                CompleteSome(step);
                break;
            case 3:
                TakeAll();
                break;
            case 4:
                Assert.Equal(_usedSlots > _takenSlots, h.Driver.EnableInterrupts());
                _interruptMode = eventIdx ? Mode.Desc : Mode.Enable;
                _interruptEvent = _takenSlots;
                break;
            case 5:
                h.Driver.DisableInterrupts();
                if (!eventIdx || packed)
                {
                    _interruptMode = Mode.Disable;
                }

                break;
            case 6:
                // The re-check that prevents a lost wake-up: true exactly when buffers wait.
                Assert.Equal(_publishedSlots > _poppedSlots, h.Device.EnableNotifications());
                _kickMode = eventIdx ? Mode.Desc : Mode.Enable;
                _kickEvent = _poppedSlots;
                break;
            default:
                h.Device.DisableNotifications();
                if (!eventIdx || packed)
                {
                    _kickMode = Mode.Disable;
                }

                break;
        }
    }

    private void AddAndPublish(Step step)
    {
        var chains = 1 + (step.A % 3);
        for (var c = 0; c < chains; c++)
        {
            var shape = (step.B + (c * 37)) & 0xff;
            var count = 1 + (shape % 4);
            var readable = (shape >> 2) % (count + 1);
            var useIndirect = indirect && ((shape >> 5) & 1) == 1;
            var chain = _nextChain;
            var buffers = new DriverBuffer[count];
            for (var i = 0; i < count; i++)
            {
                var length = (uint)((((long)step.C >> (i * 4)) + i + chain) % 65);
                buffers[i] = new DriverBuffer(h.DataBase + ((ulong)(chain % 1024) * SlotBytes) + ((ulong)i * 64), length, i >= readable);
            }

            var descriptors = useIndirect ? 1 : count;
            if (!h.Driver.TryAdd(buffers, useIndirect, out var id))
            {
                Assert.True(descriptors > h.Driver.FreeSlots, "the driver refused a chain that fits");
                break;
            }

            // Packed rings count ring slots (descriptors); split rings count ring entries (chains).
            var slots = packed ? descriptors : 1;

            _nextChain++;
            _chainOfId[id] = chain;
            _added.Add((chain, buffers, slots));
            _addedSlots += slots;
        }

        h.Driver.PublishAvail();
        foreach (var added in _added)
        {
            _published.Enqueue(added);
        }

        _added.Clear();
        var previous = _publishedSlots;
        _publishedSlots = _addedSlots;
        var expectKick = Expect(_kickMode, _kickEvent, _kickedSlots, _publishedSlots);
        var kicked = h.Driver.NeedsKick();
        Assert.True(expectKick == kicked, $"kick: mode {_kickMode}, event {_kickEvent}, old {_kickedSlots}, new {_publishedSlots}, size {h.Config.Size}: expected {expectKick}");
        _kickedSlots = _publishedSlots;
        Assert.True(previous <= _publishedSlots);
    }

    private void PopAll()
    {
        while (h.Device.TryPop(out var chain))
        {
            Assert.NotEmpty(_published);
            var (expectedChain, expectedBuffers, slots) = _published.Dequeue();
            var seen = 0;
            uint writable = 0;
            while (chain.TryGetNext(out var buffer))
            {
                Assert.True(seen < expectedBuffers.Length, "the device saw more buffers than were added");
                var expected = expectedBuffers[seen++];
                Assert.Equal(expected.Address, buffer.GuestAddress);
                Assert.Equal(expected.Length, buffer.Length);
                Assert.Equal(expected.IsWritable, buffer.IsWritable);
                writable += buffer.IsWritable ? buffer.Length : 0;
            }

            Assert.Equal(QueueError.None, chain.Error);
            Assert.Equal(expectedBuffers.Length, seen);
            if (packed)
            {
                Assert.Equal(slots, chain.Head.RingDescriptors);
            }

            _popped.Add((expectedChain, chain.Head, writable));
            _poppedSlots += slots;
        }

        Assert.Empty(_published);
    }

    private void CompleteSome(Step step)
    {
        if (_popped.Count == 0)
        {
            return;
        }

        // Complete a subset chosen by A's bits, starting at a rotation chosen by B: out of order.
        var start = step.B % _popped.Count;
        var picked = new List<int>();
        for (var k = 0; k < _popped.Count; k++)
        {
            var index = (start + k) % _popped.Count;
            if (((step.A >> (k % 8)) & 1) == 1 || step.A == 255)
            {
                picked.Add(index);
            }
        }

        foreach (var index in picked)
        {
            var (chain, head, writable) = _popped[index];
            var length = writable == 0 ? 0 : (uint)(((long)step.C + chain) % (writable + 1));
            h.Device.AddUsed(head, length);
            _completed.Enqueue((head.Id, length));
            _usedSlots += packed ? head.RingDescriptors : 1;
        }

        foreach (var index in picked.OrderDescending())
        {
            _popped.RemoveAt(index);
        }

        h.Device.PublishUsed();
        var expectInterrupt = Expect(_interruptMode, _interruptEvent, _signalledSlots, _usedSlots);
        var interrupted = h.Device.NeedsInterrupt();
        Assert.True(expectInterrupt == interrupted, $"interrupt: mode {_interruptMode}, event {_interruptEvent}, old {_signalledSlots}, new {_usedSlots}, size {h.Config.Size}: expected {expectInterrupt}");
        _signalledSlots = _usedSlots;
    }

    private void TakeAll()
    {
        while (h.Driver.TryTakeUsed(out var id, out var length))
        {
            Assert.NotEmpty(_completed);
            var (expectedId, expectedLength) = _completed.Dequeue();
            Assert.Equal(expectedId, id);
            Assert.Equal(expectedLength, length);
            Assert.True(_chainOfId.Remove(id), "an id came back that was not outstanding");
            RoundTrips++;
        }

        Assert.Empty(_completed);
        _takenSlots = _usedSlots;
    }

    /// <summary>
    /// The spec's notification rule, computed from the model's absolute counters: enabled means
    /// notify when anything new was published; disabled never; an event index means
    /// vring_need_event on the 16-bit indices (split), or on ring offsets with the event moved a
    /// lap back when its wrap counter differs from the new position's (packed, old taken as new
    /// minus what was added). Within a lap this is old &lt;= event &lt; new; an event more than a
    /// lap (packed) or 2^16 entries (split) stale wraps around, as the spec's formula does.
    /// </summary>
    private bool Expect(Mode mode, long eventIndex, long old, long current)
    {
        switch (mode)
        {
            case Mode.Disable:
                return false;
            case Mode.Enable:
                return current != old;
        }

        if (!packed)
        {
            return EventIndex.NeedsEvent(unchecked((ushort)eventIndex), unchecked((ushort)current), unchecked((ushort)old));
        }

        var size = h.Config.Size;
        static bool Wrap(long position, int size) => (position / size) % 2 == 0;
        var eventOffset = (ushort)(eventIndex % size);
        if (Wrap(eventIndex, size) != Wrap(current, size))
        {
            eventOffset = unchecked((ushort)(eventOffset - size));
        }

        var newOffset = (ushort)(current % size);
        var oldOffset = unchecked((ushort)(newOffset - (current - old)));
        var fresh = old <= eventIndex && eventIndex < current;
        var formula = EventIndex.NeedsEvent(eventOffset, newOffset, oldOffset);
        Assert.True(!fresh || formula, "within a lap the packed formula must notify when the event is passed");
        return formula;
    }
}

/// <summary>One step of a generated program: its kind and three parameters.</summary>
public readonly record struct Step(byte Kind, byte A, byte B, int C);
