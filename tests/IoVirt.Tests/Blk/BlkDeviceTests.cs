using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Blk;

namespace IoVirt.Tests.Blk;

/// <summary>virtio-blk requests through a real vhost-user socket, checked against the image itself.</summary>
public class BlkDeviceTests
{
    public static TheoryData<BlockEngineKind, bool> Engines() => new()
    {
        { BlockEngineKind.Uring, false },
        { BlockEngineKind.Uring, true },
        { BlockEngineKind.Sync, false },
        { BlockEngineKind.Sync, true },
        { BlockEngineKind.Mapped, false },
        { BlockEngineKind.Mapped, true },
    };

    [Theory]
    [MemberData(nameof(Engines))]
    public void Writes_land_in_the_image_and_read_back(BlockEngineKind engine, bool packed)
    {
        using var bed = new BlkBed(engine, packed);
        Assert.Equal(engine, bed.Device.Engine);
        var random = new Random(7);
        foreach (var (sector, length) in new (ulong, int)[] { (0, 512), (8, 4096), (1000, 65536), (2048, 1 << 20), ((BlkBed.DiskBytes / 512) - 8, 4096) })
        {
            var data = new byte[length];
            random.NextBytes(data);
            data.CopyTo(bed.Client.Data(0));
            Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.Out, sector, length));
            Assert.Equal(data, bed.ImageBytes((long)sector * 512, length));

            bed.Client.Data(0)[..length].Clear();
            Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.In, sector, length));
            Assert.Equal(data, bed.Client.Data(0)[..length].ToArray());
        }

        Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.Flush, 0, 0));
        Assert.Equal(5, bed.Device.Totals.Writes);
        Assert.Equal(5, bed.Device.Totals.Reads);
        Assert.Equal(1, bed.Device.Totals.Flushes);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Many_requests_in_flight_all_complete_with_their_own_data(BlockEngineKind engine, bool packed)
    {
        const int slots = 32;
        using var bed = new BlkBed(engine, packed, slots: slots);
        for (var slot = 0; slot < slots; slot++)
        {
            bed.Client.Data(slot)[..4096].Fill((byte)(slot + 1));
            bed.Client.Add(slot, VirtioBlkRequestType.Out, (ulong)slot * 8, 4096);
        }

        bed.Client.Publish();
        var done = new HashSet<int>();
        while (done.Count < slots)
        {
            Assert.True(bed.Client.WaitComplete(out var slot, out var status, 5000));
            Assert.Equal(VirtioBlkStatus.Ok, status);
            Assert.True(done.Add(slot));
        }

        for (var slot = 0; slot < slots; slot++)
        {
            Assert.All(bed.ImageBytes(slot * 4096L, 4096), b => Assert.Equal((byte)(slot + 1), b));
        }
    }

    [Theory]
    [InlineData(BlockEngineKind.Uring)]
    [InlineData(BlockEngineKind.Sync)]
    public void An_image_opened_for_direct_io_serves_aligned_and_unaligned_requests(BlockEngineKind engine)
    {
        var path = Path.Combine(Path.GetTempPath(), $"iovirt-direct-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[4 << 20]);
        try
        {
            using var bed = new BlkBed(engine, store: BlockStore.Open(path, readOnly: false, direct: true));
            Assert.NotNull(bed.Store.Direct);
            var random = new Random(3);
            foreach (var (sector, length) in new (ulong, int)[] { (8, 4096), (1, 512), (3, 65536 + 512), (2048, 1 << 20) })
            {
                var data = new byte[length];
                random.NextBytes(data);
                data.CopyTo(bed.Client.Data(0));
                Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.Out, sector, length));
                bed.Client.Data(0)[..length].Clear();
                Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.In, sector, length));
                Assert.Equal(data, bed.Client.Data(0)[..length].ToArray());
                Assert.Equal(data, bed.ImageBytes((long)sector * 512, length));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_ram_disk_is_served_through_a_mapping_by_default_and_an_image_on_disk_through_io_uring()
    {
        using var ram = new BlkBed(BlockEngineKind.Auto);
        Assert.Equal(BlockEngineKind.Mapped, ram.Device.Engine);
        var path = Path.Combine(Path.GetTempPath(), $"iovirt-auto-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[1 << 20]);
        try
        {
            using var store = BlockStore.Open(path, readOnly: false, direct: false);
            Assert.False(store.Buffered.IsMemoryBacked);
            using var device = new BlkDevice(store, new BlkDeviceOptions());
            Assert.Equal(BlockEngineKind.Uring, device.Engine);
            Assert.Throws<ArgumentException>(() => new BlkDevice(store, new BlkDeviceOptions { Engine = BlockEngineKind.Mapped }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Submission_polling_is_refused_for_an_engine_other_than_io_uring()
    {
        using var store = BlockStore.CreateRam(1 << 20, readOnly: false);
        var refused = Assert.Throws<BlkEngineConflictException>(() => new BlkDevice(store, new BlkDeviceOptions { Engine = BlockEngineKind.Mapped, SubmissionPollCpu = 0 }));
        Assert.Contains("submission polling is for the uring engine, not mapped", refused.Message, StringComparison.Ordinal);
        Assert.Equal(nameof(BlkDeviceOptions.SubmissionPollCpu), refused.Option);
        refused = Assert.Throws<BlkEngineConflictException>(() => new BlkDevice(store, new BlkDeviceOptions { Engine = BlockEngineKind.Mapped, FixedBuffers = true }));
        Assert.Contains("fixed buffers are for the uring engine, not mapped", refused.Message, StringComparison.Ordinal);
        Assert.Equal(nameof(BlkDeviceOptions.FixedBuffers), refused.Option);
    }

    [Theory]
    [InlineData(BlockEngineKind.Uring, true)]
    [InlineData(BlockEngineKind.Mapped, false)]
    [InlineData(BlockEngineKind.Sync, false)]
    [InlineData(BlockEngineKind.Null, false)]
    public void A_polling_worker_yields_its_core_only_where_io_finishes_on_other_threads(BlockEngineKind engine, bool yields)
    {
        using var store = BlockStore.CreateRam(1 << 20, readOnly: false);
        using var device = new BlkDevice(store, new BlkDeviceOptions { Engine = engine });
        Assert.Equal(yields, device.YieldsWhilePolling);
    }

    [Theory]
    [InlineData(BlockEngineKind.Uring, true, 32)]
    [InlineData(BlockEngineKind.Mapped, false, 32)]
    [InlineData(BlockEngineKind.Sync, false, 32)]
    [InlineData(BlockEngineKind.Null, false, 32)]
    [InlineData(BlockEngineKind.Rbd, false, 5)]
    public void Librbd_workers_poll_only_a_few_microseconds_and_without_yielding(BlockEngineKind engine, bool yields, int microseconds)
    {
        Assert.Equal(yields, engine.YieldsWhilePolling());
        Assert.Equal(TimeSpan.FromMicroseconds(microseconds), engine.DefaultBusyPoll());
    }

    [Fact]
    public void A_ram_disk_cannot_be_resized_under_its_mapping()
    {
        using var store = BlockStore.CreateRam(1 << 20);
        Assert.NotEqual(0, Tmds.Linux.LibC.ftruncate(store.Buffered.Fd, 4096));
        Assert.NotEqual(0, Tmds.Linux.LibC.ftruncate(store.Buffered.Fd, 2 << 20));
        Assert.Equal(1UL << 20, store.Size);
    }

    [Fact]
    public void A_second_back_end_cannot_open_an_image_in_use()
    {
        var path = Path.Combine(Path.GetTempPath(), $"iovirt-lock-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[1 << 20]);
        try
        {
            using var first = BlockStore.Open(path, readOnly: false, direct: false);
            var error = Assert.Throws<IOException>(() => BlockStore.Open(path, readOnly: true, direct: false));
            Assert.Contains("in use", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Shared_back_ends_open_an_image_together_and_keep_an_exclusive_one_out()
    {
        var path = Path.Combine(Path.GetTempPath(), $"iovirt-lock-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[1 << 20]);
        try
        {
            using (var source = BlockStore.Open(path, readOnly: false, direct: false, shared: true))
            using (var destination = BlockStore.Open(path, readOnly: false, direct: false, shared: true))
            {
                var error = Assert.Throws<IOException>(() => BlockStore.Open(path, readOnly: false, direct: false));
                Assert.Contains("in use", error.Message, StringComparison.Ordinal);
            }

            using var alone = BlockStore.Open(path, readOnly: false, direct: false);
            var refused = Assert.Throws<IOException>(() => BlockStore.Open(path, readOnly: false, direct: false, shared: true));
            Assert.Contains("does not share it", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Get_id_returns_the_serial_padded_with_zeros()
    {
        using var bed = new BlkBed();
        bed.Client.Data(0)[..VirtioBlk.IdLength].Fill(0xee);
        Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.GetId, 0, VirtioBlk.IdLength));
        var id = bed.Client.Data(0)[..VirtioBlk.IdLength].ToArray();
        Assert.Equal("bed-serial"u8.ToArray(), id[..10]);
        Assert.All(id[10..], b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(BlockEngineKind.Uring, VirtioBlkRequestType.Discard, 0u)]
    [InlineData(BlockEngineKind.Uring, VirtioBlkRequestType.WriteZeroes, 0u)]
    [InlineData(BlockEngineKind.Uring, VirtioBlkRequestType.WriteZeroes, 1u)]
    [InlineData(BlockEngineKind.Sync, VirtioBlkRequestType.Discard, 0u)]
    [InlineData(BlockEngineKind.Sync, VirtioBlkRequestType.WriteZeroes, 0u)]
    [InlineData(BlockEngineKind.Mapped, VirtioBlkRequestType.Discard, 0u)]
    [InlineData(BlockEngineKind.Mapped, VirtioBlkRequestType.WriteZeroes, 1u)]
    public void Discard_and_write_zeroes_zero_exactly_their_ranges(BlockEngineKind engine, VirtioBlkRequestType type, uint flags)
    {
        using var bed = new BlkBed(engine);
        var filled = new byte[1 << 20];
        Array.Fill(filled, (byte)0x5a);
        bed.WriteImage(0, filled);

        // Two ranges in one request: sectors 8..15 and 1024..1535.
        var ranges = bed.Client.Data(0);
        WriteRange(ranges, 8, 8, flags);
        WriteRange(ranges[16..], 1024, 512, flags);
        Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(type, 0, 32));

        var image = bed.ImageBytes(0, 1 << 20);
        for (var i = 0; i < image.Length; i++)
        {
            var sector = i / 512;
            var zeroed = sector is >= 8 and < 16 or >= 1024 and < 1536;
            Assert.True(image[i] == (zeroed ? 0 : 0x5a), $"byte {i} (sector {sector}) is 0x{image[i]:x2}");
        }

        Assert.Equal(1, bed.Device.Totals.Discards);
    }

    [Fact]
    public void Unmap_on_a_discard_and_unknown_flags_are_unsupported()
    {
        using var bed = new BlkBed();
        WriteRange(bed.Client.Data(0), 0, 8, 1);
        Assert.Equal(VirtioBlkStatus.Unsupported, bed.Client.Execute(VirtioBlkRequestType.Discard, 0, 16));
        WriteRange(bed.Client.Data(0), 0, 8, 2);
        Assert.Equal(VirtioBlkStatus.Unsupported, bed.Client.Execute(VirtioBlkRequestType.WriteZeroes, 0, 16));
    }

    [Fact]
    public void Requests_past_the_end_or_over_the_limits_fail_without_touching_the_image()
    {
        using var bed = new BlkBed();
        var sectors = BlkBed.DiskBytes / 512;
        bed.Client.Data(0)[..4096].Fill(0x77);
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.Out, sectors - 4, 4096));
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.Out, ulong.MaxValue - 2, 4096));
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.In, sectors, 512));
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.Out, 0, 100));
        WriteRange(bed.Client.Data(0), sectors - 1, 2, 0);
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.Discard, 0, 16));
        WriteRange(bed.Client.Data(0), 0, BlkDevice.MaxRangeSectors + 1, 0);
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.WriteZeroes, 0, 16));
        Assert.Equal(VirtioBlkStatus.Unsupported, bed.Client.Execute((VirtioBlkRequestType)99, 0, 0));

        // Nothing reached the image: a RAM disk reads as zeros until written.
        Assert.All(bed.ImageBytes((long)BlkBed.DiskBytes - 4096, 4096), b => Assert.Equal(0, b));
        Assert.All(bed.ImageBytes(0, 4096), b => Assert.Equal(0, b));
        Assert.Equal(7, bed.Device.Totals.ErrorsReported);
    }

    [Fact]
    public void A_read_only_device_refuses_writes_and_offers_no_discard()
    {
        using var bed = new BlkBed(readOnly: true);
        Assert.NotEqual(0UL, bed.Client.Features & VirtioFeature.Bit(VirtioBlkFeature.ReadOnly));
        Assert.Equal(0UL, bed.Client.Features & VirtioFeature.Bit(VirtioBlkFeature.Discard));
        bed.Client.Data(0)[..4096].Fill(1);
        Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.Out, 0, 4096));
        WriteRange(bed.Client.Data(0), 0, 8, 0);
        Assert.Equal(VirtioBlkStatus.Unsupported, bed.Client.Execute(VirtioBlkRequestType.Discard, 0, 16));
        Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.In, 0, 4096));
        Assert.All(bed.ImageBytes(0, 4096), b => Assert.Equal(0, b));
    }

    [Fact]
    public void The_config_space_describes_the_disk_and_the_driver_can_turn_the_write_cache_off()
    {
        using var bed = new BlkBed();
        Assert.Equal(BlkBed.DiskBytes / 512, bed.Client.CapacitySectors);
        Assert.True(bed.Client.WriteCacheEnabled);
        Assert.True(bed.Device.WriteCacheEnabled);

        bed.Client.SetWriteCache(false);
        Assert.False(bed.Client.WriteCacheEnabled);
        Assert.False(bed.Device.WriteCacheEnabled);
        bed.Client.Data(0)[..4096].Fill(3);
        Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.Out, 0, 4096));
        Assert.All(bed.ImageBytes(0, 4096), b => Assert.Equal(3, b));
    }

    [Fact]
    public void Config_space_fields_match_the_advertised_limits()
    {
        using var bed = new BlkBed();
        var config = bed.Device.ConfigSpace;
        Assert.Equal(BlkBed.DiskBytes / 512, BinaryPrimitives.ReadUInt64LittleEndian(config));
        Assert.Equal(BlkDevice.SizeMax, BinaryPrimitives.ReadUInt32LittleEndian(config[VirtioBlkConfig.SizeMaxOffset..]));
        Assert.Equal((uint)BlkDevice.SegMax, BinaryPrimitives.ReadUInt32LittleEndian(config[VirtioBlkConfig.SegMaxOffset..]));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32LittleEndian(config[VirtioBlkConfig.BlkSizeOffset..]));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(config[VirtioBlkConfig.NumQueuesOffset..]));
        Assert.Equal(BlkDevice.MaxRangeSectors, BinaryPrimitives.ReadUInt32LittleEndian(config[VirtioBlkConfig.MaxDiscardSectorsOffset..]));
        Assert.Equal((uint)BlkDevice.MaxRanges, BinaryPrimitives.ReadUInt32LittleEndian(config[VirtioBlkConfig.MaxWriteZeroesSegOffset..]));
        Assert.Equal(1, config[VirtioBlkConfig.WriteZeroesMayUnmapOffset]);
    }

    [Theory]
    [InlineData(BlockEngineKind.Uring, false)]
    [InlineData(BlockEngineKind.Uring, true)]
    [InlineData(BlockEngineKind.Sync, false)]
    public void Stopping_the_ring_completes_every_request_the_device_took_first(BlockEngineKind engine, bool packed)
    {
        const int slots = 32;
        using var bed = new BlkBed(engine, packed, slots: slots);
        for (var slot = 0; slot < slots; slot++)
        {
            bed.Client.Data(slot)[..65536].Fill((byte)slot);
            bed.Client.Add(slot, VirtioBlkRequestType.Out, (ulong)slot * 128, 65536);
        }

        bed.Client.Publish();
        var position = bed.Client.StopQueue();

        // Whatever the device had popped when the stop arrived is in the used ring now.
        var completed = 0;
        while (bed.Client.TryComplete(out _, out var status))
        {
            Assert.Equal(VirtioBlkStatus.Ok, status);
            completed++;
        }

        // Split: the next avail index; packed: its low 15 bits (one ring slot per indirect request).
        Assert.Equal((uint)completed, position & 0x7fff);
        Assert.Equal(bed.Device.Totals.Writes, completed);
    }

    internal static void WriteRange(Span<byte> destination, ulong sector, uint sectors, uint flags)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, sector);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], sectors);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], flags);
    }
}
