using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Interop;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// kill -9 of `iovirt blk` under a write load: every write acknowledged before a FLUSH that
/// completed (or, with the write cache off, every acknowledged write) is in the image. The
/// process dies without any chance to write more, so an acknowledgement the back end gave
/// before the data reached the file shows up as a missing block.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public class BlkDurabilityTests
{
    private const int BlockSize = 4096;
    private const int Depth = 8;
    private const int Writes = 4000;

    [Theory]
    [InlineData("uring", true)]
    [InlineData("uring", false)]
    [InlineData("sync", true)]
    [InlineData("mapped", true)]
    public void Kill_9_loses_no_write_acknowledged_as_durable(string engine, bool writeCache)
    {
        // The mapped engine serves images in RAM: its image goes to tmpfs.
        var directory = engine == "mapped"
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", $"iovirt-blk-kill-{Guid.NewGuid():N}")).FullName
            : Directory.CreateTempSubdirectory("iovirt-blk-kill-").FullName;
        try
        {
            var image = Path.Combine(directory, "disk.img");
            using (var file = File.Create(image))
            {
                file.SetLength(Writes * (long)BlockSize * 2);
            }

            var socket = Path.Combine(directory, "blk.sock");
            using var daemon = DaemonProcess.Start("blk", "--socket", socket, "--image", image, "--engine", engine);
            daemon.WaitForSocket(socket);
            var durable = new List<int>();
            using (var client = BlkClient.Connect(socket, new BlkClientOptions { Slots = Depth + 1, MaxBlockSize = BlockSize }))
            {
                client.SetWriteCache(writeCache);
                Assert.Equal(writeCache, client.WriteCacheEnabled);
                RunUntilKilled(client, daemon, writeCache, durable);
            }

            Assert.True(durable.Count > 100, $"only {durable.Count} writes were acknowledged as durable before the kill");
            // Read without taking a lock: the dead daemon's io_uring may still hold the image briefly.
            using var check = BlockFile.Open(image, readOnly: true, direct: false);
            var block = new byte[BlockSize];
            foreach (var index in durable)
            {
                Assert.Equal(BlockSize, Read(check, block, (long)index * BlockSize));
                Assert.True(IsBlock(block, index), $"write {index} was acknowledged as durable but is not in the image");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Keeps <see cref="Depth"/> writes to fresh blocks outstanding, a FLUSH every 64 completions
    /// (covering what completed before it was sent), and kills the daemon in the middle of it.
    /// </summary>
    private static void RunUntilKilled(BlkClient client, DaemonProcess daemon, bool writeCache, List<int> durable)
    {
        const int flushSlot = Depth;
        var acknowledged = new List<int>();
        var slotBlock = new int[Depth];
        var coveredByFlush = -1;
        var next = 0;
        for (var slot = 0; slot < Depth; slot++)
        {
            Submit(slot);
        }

        client.Publish();
        while (true)
        {
            if (next >= Writes / 2 && durable.Count > 100)
            {
                daemon.Signal(9);
                Assert.NotEqual(0, daemon.WaitForExit());
                return;
            }

            if (!client.WaitComplete(out var done, out var status, 10_000))
            {
                throw new TimeoutException("the back end stopped completing writes");
            }

            Assert.Equal(VirtioBlkStatus.Ok, status);
            if (done == flushSlot)
            {
                durable.AddRange(acknowledged.Take(coveredByFlush));
                acknowledged.RemoveRange(0, coveredByFlush);
                coveredByFlush = -1;
            }
            else
            {
                if (writeCache)
                {
                    acknowledged.Add(slotBlock[done]);
                }
                else
                {
                    durable.Add(slotBlock[done]);
                }

                // Halfway, new writes wait until over a hundred are durable: an fdatasync on a
                // busy disk can take longer than thousands of writes to the page cache.
                if (next < Writes / 2 || durable.Count > 100)
                {
                    Submit(done);
                }
            }

            // Decided after a flush completes too: when writes are paused and the last of them
            // completed while a flush was out, only the next flush can make them durable.
            var writesComing = next < Writes / 2 || durable.Count > 100;
            if (writeCache && coveredByFlush < 0 && (acknowledged.Count >= 64 || (!writesComing && acknowledged.Count > 0)))
            {
                coveredByFlush = acknowledged.Count;
                client.Add(flushSlot, VirtioBlkRequestType.Flush, 0, 0);
            }

            client.Publish();
        }

        void Submit(int slot)
        {
            var index = next++;
            slotBlock[slot] = index;
            FillBlock(client.Data(slot)[..BlockSize], index);
            client.Add(slot, VirtioBlkRequestType.Out, (ulong)index * (BlockSize / 512), BlockSize);
        }
    }

    private static unsafe int Read(BlockFile file, byte[] destination, long offset)
    {
        fixed (byte* p = destination)
        {
            var vector = new Tmds.Linux.iovec { iov_base = p, iov_len = (Tmds.Linux.size_t)(ulong)destination.Length };
            return file.ReadAt(offset, new ReadOnlySpan<Tmds.Linux.iovec>(&vector, 1));
        }
    }

    private static void FillBlock(Span<byte> block, int index)
    {
        for (var offset = 0; offset < block.Length; offset += 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(block[offset..], ((long)index << 16) | (uint)offset);
        }
    }

    private static bool IsBlock(ReadOnlySpan<byte> block, int index)
    {
        Span<byte> expected = stackalloc byte[BlockSize];
        FillBlock(expected, index);
        return block.SequenceEqual(expected);
    }
}
