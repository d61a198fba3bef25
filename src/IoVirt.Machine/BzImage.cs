using System.Buffers.Binary;
using IoVirt.Abi.X86;

namespace IoVirt.Machine;

/// <summary>
/// A Linux bzImage, checked against the boot protocol before anything is loaded: the setup
/// header's magic, a protocol of 2.12 or later (64-bit entry, xloadflags) and a 64-bit kernel.
/// </summary>
public sealed class BzImage
{
    /// <summary>2.12: xloadflags, and with them the 64-bit entry point.</summary>
    private const ushort MinimumProtocol = 0x020c;

    private BzImage(byte[] file, int setupSize, ushort protocol, ulong preferredAddress, uint initSize, uint initrdMax, uint commandLineMax)
    {
        File = file;
        SetupSize = setupSize;
        Protocol = protocol;
        PreferredAddress = preferredAddress;
        InitSize = initSize;
        InitrdAddressMax = initrdMax;
        CommandLineMax = commandLineMax;
    }

    /// <summary>The whole file: the setup header is copied from it into the zero page.</summary>
    public byte[] File { get; }

    /// <summary>Bytes of real-mode setup code before the protected-mode kernel.</summary>
    public int SetupSize { get; }

    public ushort Protocol { get; }

    /// <summary>Where the kernel wants to be loaded (it relocates itself when it is not).</summary>
    public ulong PreferredAddress { get; }

    /// <summary>How much memory from the load address the kernel needs before it sets up its own.</summary>
    public uint InitSize { get; }

    public uint InitrdAddressMax { get; }

    /// <summary>The longest command line, without its terminating zero.</summary>
    public uint CommandLineMax { get; }

    public ReadOnlySpan<byte> ProtectedModeKernel => File.AsSpan(SetupSize);

    /// <summary>The setup header as it is in the file, to be copied to the same offset of the zero page.</summary>
    public ReadOnlySpan<byte> SetupHeader => File.AsSpan(BootParams.SetupHeader, BootParams.Header + File[BootParams.JumpLength] - BootParams.SetupHeader);

    /// <summary>Reads and checks <paramref name="path"/>; <see cref="InvalidDataException"/> says what is wrong.</summary>
    public static BzImage Load(string path) => Parse(System.IO.File.ReadAllBytes(path), path);

    public static BzImage Parse(byte[] file, string name)
    {
        if (file.Length < 1024 || BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(BootParams.Header)) != BootParams.HeaderMagic
            || BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(BootParams.BootFlag)) != BootParams.BootFlagMagic)
        {
            throw new InvalidDataException($"{name} is not a Linux bzImage (no boot sector flag and \"HdrS\" setup header)");
        }

        var protocol = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(BootParams.Version));
        if (protocol < MinimumProtocol)
        {
            throw new InvalidDataException($"{name} speaks boot protocol {protocol >> 8}.{protocol & 0xff}; 64-bit boot needs 2.12 or later");
        }

        if ((BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(BootParams.XLoadFlags)) & BootParams.XlfKernel64) == 0)
        {
            throw new InvalidDataException($"{name} has no 64-bit entry point (it is not an x86-64 kernel)");
        }

        var sectors = file[BootParams.SetupSects] == 0 ? 4 : file[BootParams.SetupSects];
        var setupSize = (sectors + 1) * 512;
        if (BootParams.Header + file[BootParams.JumpLength] > setupSize || setupSize >= file.Length)
        {
            throw new InvalidDataException($"{name}: its setup header claims more than the file holds");
        }

        return new BzImage(
            file,
            setupSize,
            protocol,
            BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(BootParams.PrefAddress)),
            BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(BootParams.InitSize)),
            BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(BootParams.InitrdAddrMax)),
            BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(BootParams.CmdlineSize)));
    }
}
