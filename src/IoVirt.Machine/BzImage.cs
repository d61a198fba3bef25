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

    /// <summary>The most setup code a header can announce: 255 sectors after the boot sector.</summary>
    private const int MaxSetupSize = 256 * 512;

    private readonly byte[] _setup;

    private BzImage(byte[] setup, BootPayload kernel, ushort protocol, ulong preferredAddress, uint initSize, uint initrdMax, uint commandLineMax)
    {
        _setup = setup;
        ProtectedModeKernel = kernel;
        Protocol = protocol;
        PreferredAddress = preferredAddress;
        InitSize = initSize;
        InitrdAddressMax = initrdMax;
        CommandLineMax = commandLineMax;
    }

    /// <summary>Bytes of real-mode setup code before the protected-mode kernel.</summary>
    public int SetupSize => _setup.Length;

    public ushort Protocol { get; }

    /// <summary>Where the kernel wants to be loaded (it relocates itself when it is not).</summary>
    public ulong PreferredAddress { get; }

    /// <summary>How much memory from the load address the kernel needs before it sets up its own.</summary>
    public uint InitSize { get; }

    public uint InitrdAddressMax { get; }

    /// <summary>The longest command line, without its terminating zero.</summary>
    public uint CommandLineMax { get; }

    /// <summary>The file after the setup code: what is loaded at the load address.</summary>
    public BootPayload ProtectedModeKernel { get; }

    /// <summary>The setup header as it is in the file, to be copied to the same offset of the zero page.</summary>
    public ReadOnlySpan<byte> SetupHeader => _setup.AsSpan(BootParams.SetupHeader, BootParams.Header + _setup[BootParams.JumpLength] - BootParams.SetupHeader);

    /// <summary>
    /// Reads and checks the setup code of <paramref name="path"/>; the kernel itself stays in the
    /// file until it is loaded. <see cref="InvalidDataException"/> says what is wrong.
    /// </summary>
    public static BzImage Load(string path)
    {
        byte[] head;
        long length;
        using (var file = File.OpenHandle(path))
        {
            length = RandomAccess.GetLength(file);
            head = new byte[(int)Math.Min(length, MaxSetupSize)];
            head = head[..BootPayload.ReadFully(file, head, 0)];
        }

        var setupSize = CheckHeader(head, length, path);
        return Create(head[..setupSize], BootPayload.FromFile(path, setupSize));
    }

    /// <summary>Checks a whole bzImage held in memory, as <see cref="Load"/> does a file.</summary>
    public static BzImage Parse(byte[] file, string name)
    {
        ArgumentNullException.ThrowIfNull(file);
        var setupSize = CheckHeader(file, file.Length, name);
        return Create(file[..setupSize], BootPayload.FromBytes(file.AsMemory(setupSize)));
    }

    /// <summary>The setup code's size, once <paramref name="head"/> (the file's start) is a 64-bit bzImage's.</summary>
    private static int CheckHeader(ReadOnlySpan<byte> head, long fileLength, string name)
    {
        if (head.Length < 1024 || BinaryPrimitives.ReadUInt32LittleEndian(head[BootParams.Header..]) != BootParams.HeaderMagic
            || BinaryPrimitives.ReadUInt16LittleEndian(head[BootParams.BootFlag..]) != BootParams.BootFlagMagic)
        {
            throw new InvalidDataException($"{name} is not a Linux bzImage (no boot sector flag and \"HdrS\" setup header)");
        }

        var protocol = BinaryPrimitives.ReadUInt16LittleEndian(head[BootParams.Version..]);
        if (protocol < MinimumProtocol)
        {
            throw new InvalidDataException($"{name} speaks boot protocol {protocol >> 8}.{protocol & 0xff}; 64-bit boot needs 2.12 or later");
        }

        if ((BinaryPrimitives.ReadUInt16LittleEndian(head[BootParams.XLoadFlags..]) & BootParams.XlfKernel64) == 0)
        {
            throw new InvalidDataException($"{name} has no 64-bit entry point (it is not an x86-64 kernel)");
        }

        var sectors = head[BootParams.SetupSects] == 0 ? 4 : head[BootParams.SetupSects];
        var setupSize = (sectors + 1) * 512;
        if (BootParams.Header + head[BootParams.JumpLength] > setupSize || setupSize >= fileLength || setupSize > head.Length)
        {
            throw new InvalidDataException($"{name}: its setup header claims more than the file holds");
        }

        return setupSize;
    }

    private static BzImage Create(byte[] setup, BootPayload kernel) => new(
        setup,
        kernel,
        BinaryPrimitives.ReadUInt16LittleEndian(setup.AsSpan(BootParams.Version)),
        BinaryPrimitives.ReadUInt64LittleEndian(setup.AsSpan(BootParams.PrefAddress)),
        BinaryPrimitives.ReadUInt32LittleEndian(setup.AsSpan(BootParams.InitSize)),
        BinaryPrimitives.ReadUInt32LittleEndian(setup.AsSpan(BootParams.InitrdAddrMax)),
        BinaryPrimitives.ReadUInt32LittleEndian(setup.AsSpan(BootParams.CmdlineSize)));
}
