using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.VhostUser;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Properties;

/// <summary>
/// A back end that dies at any point of a completion and is replaced, any number of times, by one
/// that recovers from the inflight area: every request the driver made completes exactly once.
/// The points are those between the writes that publish a batch: before the ring, between the ring
/// and the area's header, between the header and the per-request entries, after all.
/// </summary>
public sealed class InflightRecoveryProperties
{
    private static readonly Gen<Round> RoundGen =
        from add in Gen.Choose(0, 16)
        from pop in Gen.Choose(0, 16)
        from complete in Gen.Choose(0, 0xffff)
        from crash in Gen.Frequency((3, Gen.Constant(Crash.None)), (1, Gen.Elements(Crash.BeforeRing, Crash.BeforeHeader, Crash.BeforeEntries, Crash.AfterAll)))
        from refill in Gen.Choose(0, 16)
        select new Round(add, pop, (ushort)complete, crash, refill);

    private static readonly Arbitrary<(int Size, Round[] Rounds)> Programs =
        (from size in Gen.Elements(4, 8, 16)
         from count in Gen.Choose(1, 40)
         from rounds in Gen.ArrayOf(RoundGen, count)
         select (size, rounds)).ToArbitrary();

    private enum Crash
    {
        None,
        BeforeRing,
        BeforeHeader,
        BeforeEntries,
        AfterAll,
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_request_completes_exactly_once_whenever_the_back_end_dies(bool packed)
    {
        var property = Prop.ForAll(Programs, program =>
        {
            // Split sizes must be powers of two; packed ones need not, so vary them there.
            var size = packed ? program.Size - 1 : program.Size;
            new Run(packed, size).Play(program.Rounds);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    /// <summary>
    /// The area is the front end's memory: whatever bytes it holds (with a header that claims this
    /// queue), recovery resubmits at most a ring's worth of chains, every one walkable, and the
    /// queue goes on; it never throws or reads outside the area.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void Recovery_from_any_area_contents_resubmits_at_most_a_ring_and_goes_on(bool packed)
    {
        const int size = 8;
        // Mostly small bytes, so states, counts and links often look plausible.
        var areas = Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(0, 9)), (1, Gen.Choose(0, 255))).Select(b => (byte)b), packed ? PackedInflightTracker.AreaSize(size) : SplitInflightTracker.AreaSize(size)).ToArbitrary();
        var property = Prop.ForAll(areas, bytes =>
        {
            using var h = QueueHarness.Create(packed, size, indirect: false);
            // A fresh area's header (version and queue size, 12 bytes), then random positions and entries.
            var fresh = new byte[bytes.Length];
            fixed (byte* stamp = fresh)
            {
                _ = packed ? new PackedInflightTracker(stamp, size) : (InflightTracker)new SplitInflightTracker(stamp, size);
            }

            fresh.AsSpan(0, 12).CopyTo(bytes);
            fixed (byte* area = bytes)
            {
                InflightTracker tracker = packed ? new PackedInflightTracker(area, size) : new SplitInflightTracker(area, size);
                Assert.True(tracker.Matches);
                var resubmitted = h.Device.TrackInflight(tracker, recover: true);
                Assert.InRange(resubmitted, 0, size);
                for (var i = 0; i < resubmitted && h.Device.TryPop(out var chain); i++)
                {
                    while (chain.TryGetNext(out _))
                    {
                    }

                    h.Device.AddUsed(chain.Head, 0);
                }

                h.Device.PublishUsed();
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    private sealed record Round(int Add, int Pop, ushort Complete, Crash Crash, int Refill);

    private sealed unsafe class Run(bool packed, int size)
    {
        private readonly Dictionary<ushort, int> _outstanding = [];
        private readonly HashSet<int> _completed = [];
        private readonly List<ChainHead> _held = [];
        private int _submitted;
        private ulong _dataBase;

        public void Play(Round[] rounds)
        {
            var areaSize = packed ? PackedInflightTracker.AreaSize(size) : SplitInflightTracker.AreaSize(size);
            var area = (byte*)NativeMemory.AllocZeroed((nuint)areaSize);
            try
            {
                using var h = QueueHarness.Create(packed, size, indirect: false);
                _dataBase = h.DataBase;
                var device = h.Device;
                device.TrackInflight(Tracker(area), recover: false);
                foreach (var round in rounds)
                {
                    Add(h, round.Add);
                    for (var i = 0; i < round.Pop && device.TryPop(out var chain); i++)
                    {
                        CheckBuffers(ref chain);
                        _held.Add(chain.Head);
                    }

                    for (var i = _held.Count - 1; i >= 0; i--)
                    {
                        if ((round.Complete & (1 << (i % 16))) != 0)
                        {
                            device.AddUsed(_held[i], 0);
                    Assert.Equal(QueueError.None, device.Fault);
                            _held.RemoveAt(i);
                        }
                    }

                    if (round.Crash is Crash.None)
                    {
                        device.PublishUsed();
                        Take(h);
                        continue;
                    }

                    Die(device, new Span<byte>(area, areaSize), round.Crash);
                    Take(h);
                    Add(h, round.Refill);
                    _held.Clear();
                    device = Successor(h, area);
                }

                Drain(h, device);
                Assert.Equal(QueueError.None, device.Fault);
                Assert.Empty(_outstanding);
                Assert.Equal(_submitted, _completed.Count);
                Assert.Equal(QueueError.None, h.Driver.Fault);
            }
            finally
            {
                NativeMemory.Free(area);
            }
        }

        private InflightTracker Tracker(byte* area) =>
            packed ? new PackedInflightTracker(area, size) : new SplitInflightTracker(area, size);

        /// <summary>Publishes what was completed, then puts back the writes the crash came before.</summary>
        private void Die(DeviceQueue device, Span<byte> area, Crash crash)
        {
            if (crash is Crash.BeforeRing)
            {
                return;
            }

            var before = area.ToArray();
            device.PublishUsed();
            var headerSize = packed ? PackedInflightTracker.HeaderSize : InflightQueueRegionSplit.HeaderSize;
            switch (crash)
            {
                case Crash.BeforeHeader:
                    before.CopyTo(area);
                    break;
                case Crash.BeforeEntries when packed:
                    // The packed tracker writes its header, then frees the entries.
                    before.AsSpan(headerSize).CopyTo(area[headerSize..]);
                    break;
                case Crash.BeforeEntries:
                    // The split tracker frees the entries, then writes its header.
                    before.AsSpan(0, headerSize).CopyTo(area);
                    break;
            }
        }

        private DeviceQueue Successor(QueueHarness h, byte* area)
        {
            DeviceQueue? next;
            QueueError error;
            if (packed)
            {
                error = PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var p);
                next = p;
            }
            else
            {
                error = SplitQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var s);
                next = s;
            }

            Assert.Equal(QueueError.None, error);
            next!.TrackInflight(Tracker(area), recover: true);
            return next;
        }

        private void Drain(QueueHarness h, DeviceQueue device)
        {
            foreach (var head in _held)
            {
                device.AddUsed(head, 0);
            }

            for (var pass = 0; pass < 4 && _outstanding.Count > 0; pass++)
            {
                while (device.TryPop(out var chain))
                {
                    CheckBuffers(ref chain);
                    device.AddUsed(chain.Head, 0);
                }

                device.PublishUsed();
                Take(h);
            }
        }

        /// <summary>Request n has 1 + n % 3 buffers of 512 bytes, one after another from its own place in the data area.</summary>
        private static int BufferCount(int request) => 1 + (request % 3);

        private ulong BufferAddress(int request, int buffer) =>
            _dataBase + ((((ulong)(request % 600) * 3) + (ulong)buffer) * 512);

        /// <summary>The chain (popped or resubmitted) holds exactly the buffers of the request its id names.</summary>
        private void CheckBuffers(ref DescriptorChain chain)
        {
            Assert.True(_outstanding.TryGetValue(chain.Head.Id, out var request), $"id {chain.Head.Id} popped but not outstanding");
            for (var i = 0; i < BufferCount(request); i++)
            {
                Assert.True(chain.TryGetNext(out var buffer));
                Assert.Equal(BufferAddress(request, i), buffer.GuestAddress);
            }

            Assert.False(chain.TryGetNext(out _));
        }

        private void Add(QueueHarness h, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var buffers = new DriverBuffer[BufferCount(_submitted)];
                for (var b = 0; b < buffers.Length; b++)
                {
                    buffers[b] = new DriverBuffer(BufferAddress(_submitted, b), 512, true);
                }

                if (!h.Driver.TryAdd(buffers, false, out var id))
                {
                    break;
                }

                Assert.True(_outstanding.TryAdd(id, _submitted), $"id {id} handed out while still outstanding");
                _submitted++;
            }

            h.Driver.PublishAvail();
        }

        private void Take(QueueHarness h)
        {
            foreach (var id in h.TakeUsedIds())
            {
                Assert.True(_outstanding.Remove(id, out var request), $"id {id} completed but not outstanding");
                Assert.True(_completed.Add(request), $"request {request} completed twice");
            }
        }
    }
}
