using System.Buffers.Binary;
using System.Text;
using IoVirt.Abi.X86;
using IoVirt.Memory;

namespace IoVirt.Machine;

/// <summary>
/// Loads a kernel, its initramfs and command line into guest memory and writes the zero page,
/// as the Linux 64-bit boot protocol asks of a boot loader (Documentation/arch/x86/boot.rst).
/// </summary>
public static class LinuxLoader
{
    /// <summary>Where the kernel goes when it states no preference (protocol before 2.10).</summary>
    private const ulong DefaultLoadAddress = 0x100_0000;

    /// <summary>
    /// Writes everything and returns the 64-bit entry point. Throws <see cref="InvalidDataException"/>
    /// when the kernel, initramfs or command line do not fit the memory given.
    /// </summary>
    public static ulong Load(GuestMemory memory, GuestLayout layout, BzImage kernel, BootPayload initrd, string commandLine, ulong rsdpAddress)
    {
        var loadAddress = kernel.PreferredAddress >= GuestLayout.BiosEnd ? kernel.PreferredAddress : DefaultLoadAddress;
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(initrd);
        var kernelEnd = loadAddress + Math.Max((ulong)kernel.ProtectedModeKernel.Length, kernel.InitSize);
        if (kernelEnd > layout.LowMemoryEnd)
        {
            throw new InvalidDataException($"the kernel needs memory up to 0x{kernelEnd:x}; give the guest more than {layout.MemorySize >> 20} MiB");
        }

        kernel.ProtectedModeKernel.CopyTo(memory, loadAddress);

        var cmdline = Encoding.ASCII.GetBytes(commandLine + "\0");
        if ((ulong)cmdline.Length - 1 > Math.Min(kernel.CommandLineMax, GuestLayout.CommandLineMax - 1))
        {
            throw new InvalidDataException($"the command line is {cmdline.Length - 1} bytes; this kernel takes at most {kernel.CommandLineMax}");
        }

        Write(memory, GuestLayout.CommandLineAddress, cmdline);

        var zeroPage = new byte[BootParams.Size];
        kernel.SetupHeader.CopyTo(zeroPage.AsSpan(BootParams.SetupHeader));
        zeroPage[BootParams.TypeOfLoader] = BootParams.UndefinedLoader;
        zeroPage[BootParams.LoadFlags] |= BootParams.LoadedHigh | BootParams.CanUseHeap;
        // The heap end is relative to the real-mode segment, which a 64-bit boot never uses; the
        // protocol's suggested value keeps the field sane.
        BinaryPrimitives.WriteUInt16LittleEndian(zeroPage.AsSpan(BootParams.HeapEndPtr), 0xfe00);
        BinaryPrimitives.WriteUInt32LittleEndian(zeroPage.AsSpan(BootParams.CmdLinePtr), (uint)GuestLayout.CommandLineAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(zeroPage.AsSpan(BootParams.AcpiRsdpAddr), rsdpAddress);

        if (initrd.Length > 0)
        {
            var address = PlaceInitrd(layout, kernel, kernelEnd, (ulong)initrd.Length);
            initrd.CopyTo(memory, address);
            BinaryPrimitives.WriteUInt32LittleEndian(zeroPage.AsSpan(BootParams.RamdiskImage), (uint)address);
            BinaryPrimitives.WriteUInt32LittleEndian(zeroPage.AsSpan(BootParams.RamdiskSize), (uint)initrd.Length);
        }

        WriteMemoryMap(zeroPage, layout.MemoryMap);
        Write(memory, GuestLayout.ZeroPageAddress, zeroPage);
        return loadAddress + BootParams.Entry64Offset;
    }

    /// <summary>As high in low memory as the kernel allows, page-aligned, above the kernel.</summary>
    private static ulong PlaceInitrd(GuestLayout layout, BzImage kernel, ulong kernelEnd, ulong size)
    {
        var ceiling = Math.Min(layout.LowMemoryEnd, (ulong)kernel.InitrdAddressMax + 1);
        var address = size > ceiling ? 0 : (ceiling - size) & ~0xfffUL;
        if (address < kernelEnd)
        {
            throw new InvalidDataException($"the {size >> 20} MiB initramfs does not fit beside the kernel in {layout.MemorySize >> 20} MiB of guest memory");
        }

        return address;
    }

    private static void WriteMemoryMap(Span<byte> zeroPage, IReadOnlyList<E820Entry> map)
    {
        if (map.Count > BootParams.E820MaxEntries)
        {
            throw new InvalidOperationException("the memory map has more entries than the zero page holds");
        }

        zeroPage[BootParams.E820Entries] = (byte)map.Count;
        for (var i = 0; i < map.Count; i++)
        {
            var entry = zeroPage.Slice(BootParams.E820Table + (i * E820Entry.Size), E820Entry.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, map[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], map[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], (uint)map[i].Type);
        }
    }

    internal static void Write(GuestMemory memory, ulong address, ReadOnlySpan<byte> bytes)
    {
        if (memory.Write(address, bytes) != MemoryFault.None)
        {
            throw new InvalidOperationException($"0x{bytes.Length:x} bytes at 0x{address:x} lie outside guest memory");
        }
    }
}
