using System.Buffers.Binary;
using IoVirt.Abi.X86;
using IoVirt.Machine;
using IoVirt.Memory;

namespace IoVirt.Tests.Machine;

/// <summary>What a kernel finds in memory at its 64-bit entry, per Documentation/arch/x86/boot.rst.</summary>
public sealed class LinuxLoaderTests : IDisposable
{
    private const ulong Size = 128UL << 20;
    private readonly GuestLayout _layout = new(Size);
    private readonly GuestMemory _memory = new(GuestRegion.Allocate(0, Size));

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void Kernel_command_line_initrd_and_zero_page_are_where_the_protocol_says()
    {
        var file = SyntheticKernel.Build();
        var kernel = BzImage.Parse(file, "test");
        var initrd = Enumerable.Range(0, 10_000).Select(i => unchecked((byte)i)).ToArray();
        var entry = LinuxLoader.Load(_memory, _layout, kernel, BootPayload.FromBytes(initrd), "console=ttyS0 quiet", GuestLayout.AcpiAddress);

        Assert.Equal(SyntheticKernel.PreferredAddress + 0x200, entry);
        Assert.Equal(file[((SyntheticKernel.SetupSectors + 1) * 512)..], Bytes(SyntheticKernel.PreferredAddress, file.Length - ((SyntheticKernel.SetupSectors + 1) * 512)));
        Assert.Equal("console=ttyS0 quiet\0"u8.ToArray(), Bytes(GuestLayout.CommandLineAddress, 20));

        var page = Bytes(GuestLayout.ZeroPageAddress, BootParams.Size);
        Assert.Equal(file[BootParams.Header..(BootParams.Header + 4)], page[BootParams.Header..(BootParams.Header + 4)]);
        Assert.Equal(BootParams.UndefinedLoader, page[BootParams.TypeOfLoader]);
        Assert.Equal(BootParams.LoadedHigh | BootParams.CanUseHeap, page[BootParams.LoadFlags]);
        Assert.Equal((uint)GuestLayout.CommandLineAddress, U32(page, BootParams.CmdLinePtr));
        Assert.Equal(GuestLayout.AcpiAddress, BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(BootParams.AcpiRsdpAddr)));

        var initrdAt = U32(page, BootParams.RamdiskImage);
        Assert.Equal((uint)initrd.Length, U32(page, BootParams.RamdiskSize));
        Assert.Equal(0u, initrdAt % 4096);
        Assert.True(initrdAt >= SyntheticKernel.PreferredAddress + SyntheticKernel.InitSize, "the initrd overlaps the kernel's init_size");
        Assert.True(initrdAt + (ulong)initrd.Length <= Size);
        Assert.Equal(initrd, Bytes(initrdAt, initrd.Length));

        Assert.Equal(_layout.MemoryMap.Count, page[BootParams.E820Entries]);
        for (var i = 0; i < _layout.MemoryMap.Count; i++)
        {
            var entry820 = page.AsSpan(BootParams.E820Table + (i * E820Entry.Size));
            Assert.Equal(_layout.MemoryMap[i].Address, BinaryPrimitives.ReadUInt64LittleEndian(entry820));
            Assert.Equal(_layout.MemoryMap[i].Length, BinaryPrimitives.ReadUInt64LittleEndian(entry820[8..]));
            Assert.Equal((uint)_layout.MemoryMap[i].Type, BinaryPrimitives.ReadUInt32LittleEndian(entry820[16..]));
        }
    }

    [Fact]
    public void Kernel_and_initrd_read_from_files_land_as_the_same_bytes_do()
    {
        var file = SyntheticKernel.Build();
        var initrd = Enumerable.Range(0, 300_000).Select(i => unchecked((byte)(i * 7))).ToArray();
        var kernelPath = Path.GetTempFileName();
        var initrdPath = Path.GetTempFileName();
        using var fromBytes = new GuestMemory(GuestRegion.Allocate(0, Size));
        try
        {
            File.WriteAllBytes(kernelPath, file);
            File.WriteAllBytes(initrdPath, initrd);
            var entry = LinuxLoader.Load(_memory, _layout, BzImage.Load(kernelPath), BootPayload.FromFile(initrdPath), "x", 0);
            Assert.Equal(entry, LinuxLoader.Load(fromBytes, _layout, BzImage.Parse(file, "test"), BootPayload.FromBytes(initrd), "x", 0));

            var page = Bytes(GuestLayout.ZeroPageAddress, BootParams.Size);
            var initrdAt = U32(page, BootParams.RamdiskImage);
            Assert.Equal(initrd, Bytes(initrdAt, initrd.Length));
            var setup = (SyntheticKernel.SetupSectors + 1) * 512;
            Assert.Equal(file[setup..], Bytes(SyntheticKernel.PreferredAddress, file.Length - setup));
            var other = new byte[BootParams.Size];
            Assert.Equal(MemoryFault.None, fromBytes.Read(GuestLayout.ZeroPageAddress, other));
            Assert.Equal(other, page);

            File.WriteAllBytes(kernelPath, file[..2560]);
            Assert.Contains("claims more", Assert.Throws<InvalidDataException>(() => BzImage.Load(kernelPath)).Message);
            File.WriteAllBytes(kernelPath, new byte[100]);
            Assert.Contains("not a Linux bzImage", Assert.Throws<InvalidDataException>(() => BzImage.Load(kernelPath)).Message);
        }
        finally
        {
            File.Delete(kernelPath);
            File.Delete(initrdPath);
        }
    }

    [Fact]
    public void Files_that_are_not_64_bit_bzimages_are_refused_with_the_reason()
    {
        Assert.Contains("not a Linux bzImage", Assert.Throws<InvalidDataException>(() => BzImage.Parse(new byte[4096], "zeros")).Message);
        Assert.Contains("2.12", Assert.Throws<InvalidDataException>(() => BzImage.Parse(SyntheticKernel.Build(protocol: 0x020a), "old")).Message);
        Assert.Contains("64-bit", Assert.Throws<InvalidDataException>(() => BzImage.Parse(SyntheticKernel.Build(xloadflags: 0), "i386")).Message);
        Assert.Contains("claims more", Assert.Throws<InvalidDataException>(() => BzImage.Parse(SyntheticKernel.Build()[..2560], "cut")).Message);
    }

    [Fact]
    public void What_does_not_fit_is_refused_before_anything_runs()
    {
        var kernel = BzImage.Parse(SyntheticKernel.Build(), "test");
        Assert.Contains("command line", Assert.Throws<InvalidDataException>(() => LinuxLoader.Load(_memory, _layout, kernel, BootPayload.Empty, new string('x', 2048), 0)).Message);
        var huge = new byte[Size - (SyntheticKernel.PreferredAddress + SyntheticKernel.InitSize) + 4096];
        Assert.Contains("initramfs", Assert.Throws<InvalidDataException>(() => LinuxLoader.Load(_memory, _layout, kernel, BootPayload.FromBytes(huge), "x", 0)).Message);
    }

    private byte[] Bytes(ulong address, int length)
    {
        var bytes = new byte[length];
        Assert.Equal(MemoryFault.None, _memory.Read(address, bytes));
        return bytes;
    }

    private static uint U32(byte[] page, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(offset));
}
