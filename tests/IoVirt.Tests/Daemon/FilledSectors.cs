using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;

namespace IoVirt.Tests.Daemon;

/// <summary>Writes and reads of ranges filled with one byte, through a <see cref="BlkClient"/>'s slot 0: what tests of whose data a disk holds compare.</summary>
internal static class FilledSectors
{
    /// <summary>Writes <paramref name="length"/> bytes of <paramref name="pattern"/> at <paramref name="sector"/>, checking the request succeeds.</summary>
    public static void WriteFilled(this BlkClient client, ulong sector, byte pattern, int length = 512)
    {
        client.Data(0)[..length].Fill(pattern);
        Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, sector, length));
    }

    /// <summary>Reads one sector and returns its byte, checking the whole sector holds it.</summary>
    public static byte ReadFilled(this BlkClient client, ulong sector)
    {
        client.Data(0)[..512].Fill(0x5a);
        Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, sector, 512));
        var data = client.Data(0)[..512].ToArray();
        Assert.All(data, x => Assert.Equal(data[0], x));
        return data[0];
    }
}
