namespace IoVirt.Abi.X86;

/// <summary>
/// The Linux x86 boot protocol's zero page (struct boot_params, asm/bootparam.h, and
/// Documentation/arch/x86/boot.rst): byte offsets of the fields a 64-bit boot loader fills.
/// The setup header (struct setup_header) sits at 0x1F1 both here and in the bzImage file.
/// </summary>
public static class BootParams
{
    public const int Size = 4096;

    public const int AcpiRsdpAddr = 0x070;
    public const int ExtRamdiskImage = 0x0c0;
    public const int ExtRamdiskSize = 0x0c4;
    public const int ExtCmdLinePtr = 0x0c8;
    public const int E820Entries = 0x1e8;
    public const int E820Table = 0x2d0;
    public const int E820MaxEntries = 128;

    // struct setup_header, at its place in boot_params (and in the bzImage).
    public const int SetupHeader = 0x1f1;
    public const int SetupSects = 0x1f1;
    public const int BootFlag = 0x1fe;
    /// <summary>The second byte of the jump at 0x200 is the header's length past 0x202.</summary>
    public const int JumpLength = 0x201;
    public const int Header = 0x202;
    public const int Version = 0x206;
    public const int TypeOfLoader = 0x210;
    public const int LoadFlags = 0x211;
    public const int Code32Start = 0x214;
    public const int RamdiskImage = 0x218;
    public const int RamdiskSize = 0x21c;
    public const int HeapEndPtr = 0x224;
    public const int CmdLinePtr = 0x228;
    public const int InitrdAddrMax = 0x22c;
    public const int KernelAlignment = 0x230;
    public const int RelocatableKernel = 0x234;
    public const int XLoadFlags = 0x236;
    public const int CmdlineSize = 0x238;
    public const int PrefAddress = 0x258;
    public const int InitSize = 0x260;

    /// <summary>"HdrS" read as a little-endian u32.</summary>
    public const uint HeaderMagic = 0x5372_6448;
    public const ushort BootFlagMagic = 0xaa55;

    /// <summary>loadflags: LOADED_HIGH (the kernel is at 1 MiB or above) and CAN_USE_HEAP.</summary>
    public const byte LoadedHigh = 0x01, CanUseHeap = 0x80;

    /// <summary>xloadflags: XLF_KERNEL_64 (a 64-bit entry at the load address + 0x200).</summary>
    public const ushort XlfKernel64 = 0x01;

    /// <summary>type_of_loader for a loader with no assigned ID.</summary>
    public const byte UndefinedLoader = 0xff;

    /// <summary>The 64-bit entry point's distance from where the protected-mode kernel is loaded.</summary>
    public const int Entry64Offset = 0x200;
}
