using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Backends.Blk.Volumes;
using IoVirt.Testing;

namespace IoVirt.Tests.Blk;

/// <summary>
/// Guests on volumes of one shared image: each reaches only its own extent, a new volume reads
/// as zeros whatever an earlier one left, and the volume table survives a restart.
/// </summary>
public sealed class VolumeTests : IDisposable
{
    private const long Mib = 1 << 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-volumes-").FullName;
    private readonly BlockStore _store;

    public VolumeTests()
    {
        var image = Path.Combine(_directory, "shared.img");
        File.WriteAllBytes(image, []);
        using (var file = File.OpenWrite(image))
        {
            file.SetLength(8 * Mib);
        }

        _store = BlockStore.Open(image, readOnly: false, direct: false);
    }

    private string TablePath => Path.Combine(_directory, "shared.img.volumes.json");

    [Theory]
    [InlineData(BlockEngineKind.Uring)]
    [InlineData(BlockEngineKind.Sync)]
    public void Each_guest_reaches_only_its_own_volume(BlockEngineKind engine)
    {
        var table = VolumeTable.Open(_store, TablePath);
        var a = table.Create("a", (3 * Mib) - 4096);
        var b = table.Create("b", 2 * Mib);
        Assert.Equal(new BlockVolume("a", 0, 3 * Mib), a);
        Assert.Equal(new BlockVolume("b", 3 * Mib, 2 * Mib), b);

        using var guestA = new Guest(_store, a, engine);
        using var guestB = new Guest(_store, b, engine);
        Assert.Equal((ulong)(3 * Mib / 512), guestA.Client.CapacitySectors);
        Assert.Equal((ulong)(2 * Mib / 512), guestB.Client.CapacitySectors);

        // The last sector of A and the first of B are neighbours in the image.
        guestA.Client.Data(0)[..512].Fill(0xaa);
        Assert.Equal(VirtioBlkStatus.Ok, guestA.Client.Execute(VirtioBlkRequestType.Out, guestA.Client.CapacitySectors - 1, 512));
        guestB.Client.Data(0)[..512].Fill(0xbb);
        Assert.Equal(VirtioBlkStatus.Ok, guestB.Client.Execute(VirtioBlkRequestType.Out, 0, 512));
        Assert.All(Image((3 * Mib) - 512, 512), x => Assert.Equal(0xaa, x));
        Assert.All(Image(3 * Mib, 512), x => Assert.Equal(0xbb, x));

        // A cannot reach past its end, neither by writing, reading nor discarding.
        guestA.Client.Data(0)[..1024].Fill(0xee);
        Assert.Equal(VirtioBlkStatus.IoError, guestA.Client.Execute(VirtioBlkRequestType.Out, guestA.Client.CapacitySectors - 1, 1024));
        Assert.Equal(VirtioBlkStatus.IoError, guestA.Client.Execute(VirtioBlkRequestType.In, guestA.Client.CapacitySectors, 512));
        BlkDeviceTests.WriteRange(guestA.Client.Data(0), 0, (uint)guestA.Client.CapacitySectors + 1, 0);
        Assert.Equal(VirtioBlkStatus.IoError, guestA.Client.Execute(VirtioBlkRequestType.Discard, 0, 16));
        BlkDeviceTests.WriteRange(guestA.Client.Data(0), 0, (uint)guestA.Client.CapacitySectors, 0);
        Assert.Equal(VirtioBlkStatus.Ok, guestA.Client.Execute(VirtioBlkRequestType.Discard, 0, 16));
        Assert.All(Image(3 * Mib, 512), x => Assert.Equal(0xbb, x));

        // B reads its own data back, and A reads zeros where it discarded.
        Assert.Equal(VirtioBlkStatus.Ok, guestB.Client.Execute(VirtioBlkRequestType.In, 0, 512));
        Assert.All(guestB.Client.Data(0)[..512].ToArray(), x => Assert.Equal(0xbb, x));
        Assert.Equal(VirtioBlkStatus.Ok, guestA.Client.Execute(VirtioBlkRequestType.In, guestA.Client.CapacitySectors - 1, 512));
        Assert.All(guestA.Client.Data(0)[..512].ToArray(), x => Assert.Equal(0, x));
    }

    [Fact]
    public void A_new_volume_never_shows_what_an_earlier_one_left()
    {
        var table = VolumeTable.Open(_store, TablePath);
        var old = table.Create("old", 4 * Mib);
        using (var guest = new Guest(_store, old, BlockEngineKind.Uring))
        {
            guest.Client.Data(0)[..65536].Fill(0x5e);
            for (ulong sector = 0; sector < 4 * Mib / 512; sector += 128)
            {
                Assert.Equal(VirtioBlkStatus.Ok, guest.Client.Execute(VirtioBlkRequestType.Out, sector, 65536));
            }
        }

        table.Remove("old");
        var fresh = table.Create("fresh", 4 * Mib);
        Assert.Equal(old.Offset, fresh.Offset);
        using var next = new Guest(_store, fresh, BlockEngineKind.Uring);
        for (ulong sector = 0; sector < 4 * Mib / 512; sector += 128)
        {
            Assert.Equal(VirtioBlkStatus.Ok, next.Client.Execute(VirtioBlkRequestType.In, sector, 65536));
            Assert.All(next.Client.Data(0)[..65536].ToArray(), x => Assert.Equal(0, x));
        }
    }

    [Fact]
    public void The_table_persists_and_refuses_what_does_not_fit()
    {
        var table = VolumeTable.Open(_store, TablePath);
        _ = table.Create("a", Mib);
        _ = table.Create("b", 5 * Mib);
        table.Remove("a");
        var reopened = VolumeTable.Open(_store, TablePath);
        Assert.Equal([new BlockVolume("b", Mib, 5 * Mib)], reopened.Volumes);

        Assert.Throws<InvalidOperationException>(() => reopened.Create("b", Mib));
        Assert.Throws<InvalidOperationException>(() => reopened.Create("big", 3 * Mib));
        Assert.Equal(new BlockVolume("c", 0, Mib), reopened.Create("c", 1));
        Assert.Equal(new BlockVolume("d", 6 * Mib, 2 * Mib), reopened.Create("d", 2 * Mib));

        File.WriteAllText(TablePath, """[{"Name":"x","Offset":0,"Size":2097152},{"Name":"y","Offset":1048576,"Size":1048576}]""");
        Assert.Throws<InvalidDataException>(() => VolumeTable.Open(_store, TablePath));
        Assert.Throws<ArgumentException>(() => new BlkDevice(_store, new BlkDeviceOptions { Volume = new BlockVolume("z", 7 * Mib, 2 * Mib) }));
    }

    private byte[] Image(long offset, int length) => ImageFile.Read(_store.Name, offset, length);

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>One guest's disk: a device on a volume, served on its own socket, with a client.</summary>
    private sealed class Guest : IDisposable
    {
        private readonly BlkDevice _device;
        private readonly VhostUserTestBed _bed;

        public Guest(BlockStore store, BlockVolume volume, BlockEngineKind engine)
        {
            _device = new BlkDevice(store, new BlkDeviceOptions { Volume = volume, Engine = engine });
            _bed = new VhostUserTestBed(_device);
            Client = BlkClient.Connect(_bed.SocketPath, new BlkClientOptions { MaxBlockSize = 65536 });
        }

        public BlkClient Client { get; }

        public void Dispose()
        {
            Client.Dispose();
            _bed.Dispose();
            _device.Dispose();
        }
    }
}
