using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Blk;

/// <summary>
/// The parser against a model: a request's byte stream (header, data, status) cut into
/// descriptors at random points parses to the same request whatever the cuts, its data
/// segments cover exactly the data bytes, and it is accepted exactly when the model says the
/// length, sector range, segment count and segment size are all allowed.
/// </summary>
public class BlkRequestParserProperties
{
    private const ulong CapacitySectors = 64;

    private static readonly BlkLimits Limits = new(
        CapacitySectors, ReadOnly: false, SegMax: 6, SizeMax: 4096, MaxDiscardSectors: 16, MaxDiscardSeg: 2,
        MaxWriteZeroesSectors: 16, MaxWriteZeroesSeg: 2, Flush: true, Discard: true, WriteZeroes: true);

    public sealed record Case(bool Write, ulong Sector, int Length, int[] Cuts, bool Packed);

    private static readonly Arbitrary<Case> Cases =
        (from write in Gen.Elements(true, false)
         from sector in Gen.Frequency((6, Gen.Choose(0, (int)CapacitySectors).Select(s => (ulong)s)), (1, Gen.Elements(ulong.MaxValue, ulong.MaxValue - 3, CapacitySectors - 1)))
         from length in Gen.Frequency((4, Gen.Choose(0, 24).Select(n => n * 512)), (1, Gen.Choose(1, 12 * 512)))
         from cutCount in Gen.Choose(0, 9)
         from cuts in Gen.ArrayOf(Gen.Choose(1, 16 + (12 * 512)), cutCount)
         from packed in Gen.Elements(true, false)
         select new Case(write, sector, length, cuts, packed)).ToArbitrary();

    [Fact]
    public void Any_framing_parses_to_the_modelled_request()
    {
        var property = Prop.ForAll(Cases, c =>
        {
            using var h = QueueHarness.Create(c.Packed, 16, indirect: true, indirectEntries: 32, dataBytes: 64 << 10);
            var stream = h.DataBase;
            var total = 16 + c.Length + 1;
            WriteHeader(h.Memory, stream, c.Write ? VirtioBlkRequestType.Out : VirtioBlkRequestType.In, c.Sector);

            // Readable part: the header (and the data for a write); writable: the rest, status last.
            var readableEnd = c.Write ? 16 + c.Length : 16;
            var cuts = c.Cuts.Where(x => x < total).Append(readableEnd).Append(0).Append(total).Distinct().Order().ToArray();
            var descriptors = new List<DriverBuffer>();
            for (var i = 0; i + 1 < cuts.Length; i++)
            {
                descriptors.Add(new DriverBuffer(stream + (ulong)cuts[i], (uint)(cuts[i + 1] - cuts[i]), IsWritable: cuts[i] >= readableEnd));
            }

            Assert.True(h.Driver.TryAdd(descriptors.ToArray(), indirect: true, out _));
            h.Driver.PublishAvail();
            Assert.True(h.Device.TryPop(out var chain));
            var segments = new VirtqBuffer[Limits.SegMax + 1];
            var ranges = new BlkRange[2];
            BlkRequestParser.Parse(ref chain, h.Memory, in Limits, segments, ranges, out var request);

            var dataSegments = 1 + cuts.Count(x => x > 16 && x < 16 + c.Length);
            var valid = c.Length % 512 == 0
                && c.Sector <= CapacitySectors && (ulong)(c.Length / 512) <= CapacitySectors - c.Sector
                && (c.Length == 0 || dataSegments <= Limits.SegMax)
                && Pieces(cuts, 16, 16 + c.Length).All(p => p <= Limits.SizeMax);
            Assert.Equal(stream + (ulong)total - 1, request.StatusAddress);
            Assert.Equal((uint)(total - readableEnd), request.WritableBytes);
            if (!valid)
            {
                Assert.Equal(BlkVerdict.Complete, request.Verdict);
                Assert.Equal(VirtioBlkStatus.IoError, request.Status);
                return;
            }

            Assert.Equal(BlkVerdict.Execute, request.Verdict);
            Assert.Equal((long)c.Sector * 512, request.Offset);
            Assert.Equal((uint)c.Length, request.DataLength);
            var next = stream + 16;
            for (var i = 0; i < request.SegmentCount; i++)
            {
                Assert.Equal(next, segments[i].GuestAddress);
                Assert.Equal(c.Write, !segments[i].IsWritable);
                next += segments[i].Length;
            }

            Assert.Equal(stream + 16 + (ulong)c.Length, next);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void A_chain_without_a_writable_byte_has_no_status_and_a_short_header_is_an_io_error()
    {
        using var h = QueueHarness.Create(packed: false, 16);
        WriteHeader(h.Memory, h.DataBase, VirtioBlkRequestType.In, 0);
        var verdicts = new List<(BlkVerdict, VirtioBlkStatus)>();
        foreach (var chain in new DriverBuffer[][]
        {
            [new(h.DataBase, 16, false), new(h.DataBase + 16, 512, false)],
            [new(h.DataBase, 8, false), new(h.DataBase + 16, 1, true)],
            [new(h.DataBase, 16, false), new(h.DataBase + 16, 512, false), new(h.DataBase + 1024, 1, true)],
            [new(h.DataBase, 16, false), new(h.DataBase + 16, 0, true)],
        })
        {
            Assert.True(h.Driver.TryAdd(chain, indirect: false, out _));
            h.Driver.PublishAvail();
            Assert.True(h.Device.TryPop(out var popped));
            BlkRequestParser.Parse(ref popped, h.Memory, in Limits, new VirtqBuffer[8], new BlkRange[2], out var request);
            verdicts.Add((request.Verdict, request.Status));
            h.Device.AddUsed(popped.Head, 0);
            h.Device.PublishUsed();
            Assert.True(h.Driver.TryTakeUsed(out _, out _));
        }

        Assert.Equal(
            [(BlkVerdict.NoStatus, default), (BlkVerdict.Complete, VirtioBlkStatus.IoError), (BlkVerdict.Complete, VirtioBlkStatus.IoError), (BlkVerdict.NoStatus, default)],
            verdicts);
    }

    private static IEnumerable<int> Pieces(int[] cuts, int from, int to)
    {
        var inside = cuts.Where(x => x > from && x < to).Prepend(from).Append(to).ToArray();
        for (var i = 0; i + 1 < inside.Length; i++)
        {
            yield return inside[i + 1] - inside[i];
        }
    }

    private static void WriteHeader(GuestMemory memory, ulong address, VirtioBlkRequestType type, ulong sector)
    {
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)type);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], sector);
        Assert.Equal(MemoryFault.None, memory.Write(address, header));
    }
}
