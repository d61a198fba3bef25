using System.Buffers.Binary;
using IoVirt.Abi.X86;

namespace IoVirt.Tests.Machine;

/// <summary>A bzImage-shaped file: a setup header as Linux 6.1's, then a recognisable protected-mode kernel.</summary>
internal static class SyntheticKernel
{
    public const int SetupSectors = 4;
    public const ulong PreferredAddress = 0x100_0000;
    public const uint InitSize = 0x100_0000;

    public static byte[] Build(ushort protocol = 0x020f, ushort xloadflags = BootParams.XlfKernel64, int kernelBytes = 8192)
    {
        var file = new byte[((SetupSectors + 1) * 512) + kernelBytes];
        file[BootParams.SetupSects] = SetupSectors;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(BootParams.BootFlag), BootParams.BootFlagMagic);
        file[BootParams.JumpLength - 1] = 0xeb;
        file[BootParams.JumpLength] = 0x6a;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(BootParams.Header), BootParams.HeaderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(BootParams.Version), protocol);
        file[BootParams.LoadFlags] = BootParams.LoadedHigh;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(BootParams.InitrdAddrMax), 0x7fff_ffff);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(BootParams.KernelAlignment), 0x20_0000);
        file[BootParams.RelocatableKernel] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(BootParams.XLoadFlags), xloadflags);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(BootParams.CmdlineSize), 2047);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(BootParams.PrefAddress), PreferredAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(BootParams.InitSize), InitSize);
        for (var i = (SetupSectors + 1) * 512; i < file.Length; i++)
        {
            file[i] = unchecked((byte)(i * 7));
        }

        return file;
    }
}
