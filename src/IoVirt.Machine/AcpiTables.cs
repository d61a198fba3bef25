using System.Buffers.Binary;
using IoVirt.Abi.Acpi;

namespace IoVirt.Machine;

/// <summary>
/// The ACPI tables of a hardware-reduced PC (no PM timer, SCI or GPE blocks, as Firecracker and
/// Cloud Hypervisor do it): RSDP, XSDT, FADT, MADT (one local APIC per vCPU, the IOAPIC, the
/// PIT's override and LINT1 as NMI) and a DSDT. Reset and sleep go through I/O ports, so the
/// guest's reboot and poweroff reach the VMM.
/// </summary>
public static class AcpiTables
{
    private static ReadOnlySpan<byte> OemId => "IOVIRT"u8;

    private static ReadOnlySpan<byte> OemTableId => "IOVIRTPC"u8;

    /// <summary>
    /// Builds the tables for guest address <paramref name="baseAddress"/> (16-byte aligned; the
    /// RSDP comes first). <paramref name="devices"/> are AML Device terms for the DSDT's \_SB.
    /// </summary>
    public static byte[] Build(ulong baseAddress, int vcpuCount, IReadOnlyList<byte[]> devices)
    {
        var image = new List<byte>();
        var rsdp = Reserve(image, Rsdp.Size);
        var xsdt = Align(image);
        var xsdtLength = SdtHeader.Size + (2 * 8);
        Reserve(image, xsdtLength);
        var fadt = Align(image);
        Reserve(image, Fadt.Size);
        var madt = Align(image);
        var madtBytes = MadtBody(vcpuCount);
        Reserve(image, madtBytes.Length);
        var dsdt = Align(image);
        var dsdtAml = DsdtAml(devices);
        Reserve(image, SdtHeader.Size + dsdtAml.Length);
        var bytes = image.ToArray();

        // DSDT
        Header(bytes.AsSpan(dsdt, SdtHeader.Size + dsdtAml.Length), "DSDT"u8, 2);
        dsdtAml.CopyTo(bytes.AsSpan(dsdt + SdtHeader.Size));
        Checksum(bytes.AsSpan(dsdt, SdtHeader.Size + dsdtAml.Length), SdtHeader.Checksum);

        // MADT
        madtBytes.CopyTo(bytes.AsSpan(madt));
        Header(bytes.AsSpan(madt, madtBytes.Length), "APIC"u8, Madt.Revision);
        Checksum(bytes.AsSpan(madt, madtBytes.Length), SdtHeader.Checksum);

        // FADT
        var f = bytes.AsSpan(fadt, Fadt.Size);
        Header(f, "FACP"u8, Fadt.Revision);
        BinaryPrimitives.WriteUInt16LittleEndian(f[Fadt.IapcBootArch..], Fadt.VgaNotPresent);
        BinaryPrimitives.WriteUInt32LittleEndian(f[Fadt.Flags..], Fadt.HardwareReduced | Fadt.ResetRegisterSupported);
        PortRegister(f[Fadt.ResetRegister..], PowerControl.ResetPort);
        f[Fadt.ResetValue] = PowerControl.ResetValue;
        f[Fadt.FadtMinorVersion] = Fadt.MinorRevision;
        BinaryPrimitives.WriteUInt64LittleEndian(f[Fadt.XDsdt..], baseAddress + (ulong)dsdt);
        PortRegister(f[Fadt.SleepControlRegister..], PowerControl.SleepControlPort);
        PortRegister(f[Fadt.SleepStatusRegister..], PowerControl.SleepStatusPort);
        BinaryPrimitives.WriteUInt64LittleEndian(f[Fadt.HypervisorVendorIdentity..], BinaryPrimitives.ReadUInt64LittleEndian("IOVIRT\0\0"u8));
        Checksum(f, SdtHeader.Checksum);

        // XSDT
        var x = bytes.AsSpan(xsdt, xsdtLength);
        Header(x, "XSDT"u8, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(x[SdtHeader.Size..], baseAddress + (ulong)fadt);
        BinaryPrimitives.WriteUInt64LittleEndian(x[(SdtHeader.Size + 8)..], baseAddress + (ulong)madt);
        Checksum(x, SdtHeader.Checksum);

        // RSDP
        var r = bytes.AsSpan(rsdp, Rsdp.Size);
        Rsdp.SignatureBytes.CopyTo(r);
        OemId.CopyTo(r[Rsdp.OemId..]);
        r[Rsdp.Revision] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(r[Rsdp.Length..], Rsdp.Size);
        BinaryPrimitives.WriteUInt64LittleEndian(r[Rsdp.XsdtAddress..], baseAddress + (ulong)xsdt);
        Checksum(r[..Rsdp.ChecksumLength], Rsdp.Checksum);
        Checksum(r, Rsdp.ExtendedChecksum);
        return bytes;
    }

    private static byte[] MadtBody(int vcpuCount)
    {
        var length = Madt.FirstEntry + (vcpuCount * Madt.LocalApicLength) + Madt.IoApicLength + Madt.InterruptOverrideLength + Madt.LocalApicNmiLength;
        var madt = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(madt.AsSpan(Madt.LocalApicAddress), (uint)GuestLayout.LocalApicAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(madt.AsSpan(Madt.Flags), Madt.PcatCompat);
        var at = Madt.FirstEntry;
        for (var cpu = 0; cpu < vcpuCount; cpu++)
        {
            madt[at] = Madt.LocalApicType;
            madt[at + 1] = Madt.LocalApicLength;
            madt[at + 2] = (byte)cpu;
            madt[at + 3] = (byte)cpu;
            BinaryPrimitives.WriteUInt32LittleEndian(madt.AsSpan(at + 4), Madt.LocalApicEnabled);
            at += Madt.LocalApicLength;
        }

        madt[at] = Madt.IoApicType;
        madt[at + 1] = Madt.IoApicLength;
        madt[at + 2] = (byte)vcpuCount; // an ID no local APIC has
        BinaryPrimitives.WriteUInt32LittleEndian(madt.AsSpan(at + 4), (uint)GuestLayout.IoApicAddress);
        at += Madt.IoApicLength;

        // The PIT's IRQ 0 arrives on IOAPIC pin 2, as on every PC (and as our GSI routes say).
        madt[at] = Madt.InterruptOverrideType;
        madt[at + 1] = Madt.InterruptOverrideLength;
        BinaryPrimitives.WriteUInt32LittleEndian(madt.AsSpan(at + 4), 2);
        at += Madt.InterruptOverrideLength;

        madt[at] = Madt.LocalApicNmiType;
        madt[at + 1] = Madt.LocalApicNmiLength;
        madt[at + 2] = 0xff;
        madt[at + 5] = 1;
        return madt;
    }

    /// <summary>\_S5 (soft off: SLP_TYP 5, which <see cref="PowerControl"/> takes as power-off) and the devices in \_SB.</summary>
    private static byte[] DsdtAml(IReadOnlyList<byte[]> devices)
    {
        var off = Aml.Integer(PowerControl.SoftOffType);
        byte[] s5 = Aml.Name("_S5_", Aml.PackageOf(off, off, Aml.Integer(0), Aml.Integer(0)));
        return devices.Count == 0 ? s5 : [.. s5, .. Aml.Scope("\\_SB_", [.. devices])];
    }

    private static void Header(Span<byte> table, ReadOnlySpan<byte> signature, byte revision)
    {
        signature.CopyTo(table);
        BinaryPrimitives.WriteUInt32LittleEndian(table[SdtHeader.Length..], (uint)table.Length);
        table[SdtHeader.Revision] = revision;
        OemId.CopyTo(table[SdtHeader.OemId..]);
        OemTableId.CopyTo(table[SdtHeader.OemTableId..]);
        BinaryPrimitives.WriteUInt32LittleEndian(table[SdtHeader.OemRevision..], 1);
        "IOVT"u8.CopyTo(table[SdtHeader.CreatorId..]);
        BinaryPrimitives.WriteUInt32LittleEndian(table[SdtHeader.CreatorRevision..], 1);
    }

    private static void PortRegister(Span<byte> gas, ushort port)
    {
        gas[GenericAddress.AddressSpace] = GenericAddress.SystemIo;
        gas[GenericAddress.BitWidth] = 8;
        gas[GenericAddress.AccessSize] = GenericAddress.ByteAccess;
        BinaryPrimitives.WriteUInt64LittleEndian(gas[GenericAddress.Address..], port);
    }

    /// <summary>Sets the byte at <paramref name="at"/> so that <paramref name="bytes"/> sum to 0 mod 256.</summary>
    private static void Checksum(Span<byte> bytes, int at)
    {
        bytes[at] = 0;
        byte sum = 0;
        foreach (var b in bytes)
        {
            sum = unchecked((byte)(sum + b));
        }

        bytes[at] = unchecked((byte)-sum);
    }

    private static int Reserve(List<byte> image, int length)
    {
        var at = image.Count;
        image.AddRange(new byte[length]);
        return at;
    }

    private static int Align(List<byte> image)
    {
        while (image.Count % 16 != 0)
        {
            image.Add(0);
        }

        return image.Count;
    }
}
