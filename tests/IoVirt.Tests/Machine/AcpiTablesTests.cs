using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.Acpi;
using IoVirt.Machine;

namespace IoVirt.Tests.Machine;

/// <summary>The ACPI tables read back as a guest's ACPI code reads them: by following pointers and checking sums.</summary>
public sealed class AcpiTablesTests
{
    private const ulong Base = 0xe0000;

    [Fact]
    public void Rsdp_points_through_the_xsdt_to_a_hardware_reduced_fadt_and_its_dsdt()
    {
        var image = AcpiTables.Build(Base, 2, []);
        Assert.True(image.AsSpan(0, 8).SequenceEqual("RSD PTR "u8));
        Assert.Equal(0, Sum(image.AsSpan(0, Rsdp.ChecksumLength)));
        Assert.Equal(0, Sum(image.AsSpan(0, Rsdp.Size)));
        Assert.Equal(2, image[Rsdp.Revision]);

        var xsdt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(Rsdp.XsdtAddress)), "XSDT");
        Assert.Equal(SdtHeader.Size + 16, xsdt.Length);
        var fadt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(xsdt[SdtHeader.Size..]), "FACP");
        var madt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(xsdt[(SdtHeader.Size + 8)..]), "APIC");
        Assert.Equal(Fadt.Size, fadt.Length);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(fadt[Fadt.Flags..]);
        Assert.Equal(Fadt.HardwareReduced | Fadt.ResetRegisterSupported, flags);
        Assert.Equal(PowerControl.ResetPort, BinaryPrimitives.ReadUInt64LittleEndian(fadt[(Fadt.ResetRegister + GenericAddress.Address)..]));
        Assert.Equal(PowerControl.ResetValue, fadt[Fadt.ResetValue]);
        Assert.Equal(PowerControl.SleepControlPort, BinaryPrimitives.ReadUInt64LittleEndian(fadt[(Fadt.SleepControlRegister + GenericAddress.Address)..]));
        Assert.Equal(GenericAddress.SystemIo, fadt[Fadt.SleepControlRegister]);

        var dsdt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(fadt[Fadt.XDsdt..]), "DSDT");
        Assert.True(dsdt[SdtHeader.Size..].IndexOf("_S5_"u8) >= 0, "the DSDT has no \\_S5 object, so the guest cannot power off");
        Assert.True(madt.Length > Madt.FirstEntry);
    }

    [Fact]
    public void Madt_has_one_enabled_local_apic_per_vcpu_the_ioapic_and_the_pit_override()
    {
        var entries = MadtEntries(AcpiTables.Build(Base, 3, []));
        var apics = entries.Where(e => e[0] == Madt.LocalApicType).ToList();
        Assert.Equal([0, 1, 2], apics.Select(e => (int)e[3]));
        Assert.All(apics, e => Assert.Equal(Madt.LocalApicEnabled, BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(4))));
        var ioapic = Assert.Single(entries, e => e[0] == Madt.IoApicType);
        Assert.Equal((uint)GuestLayout.IoApicAddress, BinaryPrimitives.ReadUInt32LittleEndian(ioapic.AsSpan(4)));
        Assert.DoesNotContain(ioapic[2], apics.Select(e => e[3]));
        var pit = Assert.Single(entries, e => e[0] == Madt.InterruptOverrideType);
        Assert.Equal(0, pit[3]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(pit.AsSpan(4)));
        var nmi = Assert.Single(entries, e => e[0] == Madt.LocalApicNmiType);
        Assert.Equal(1, nmi[5]);
    }

    [Fact]
    public void Devices_land_in_the_system_bus_scope_of_the_dsdt()
    {
        var com1 = Serial8250.AcpiDevice("COM1", Serial8250.Com1Port, Serial8250.Com1Irq);
        var image = AcpiTables.Build(Base, 1, [com1]);
        var scope = image.AsSpan().IndexOf("\\_SB_"u8);
        Assert.True(scope > 0, "no \\_SB scope in the DSDT");
        Assert.True(image.AsSpan(scope).IndexOf(com1) > 0, "the device is not inside \\_SB");
    }

    [Fact]
    public void Every_table_sums_to_zero_and_lists_every_vcpu_for_any_vcpu_count()
    {
        var property = Prop.ForAll(Gen.Choose(1, 254).ToArbitrary(), count =>
        {
            var image = AcpiTables.Build(Base, count, []);
            var xsdt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(Rsdp.XsdtAddress)), "XSDT");
            var fadt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(xsdt[SdtHeader.Size..]), "FACP");
            _ = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(fadt[Fadt.XDsdt..]), "DSDT");
            Assert.Equal(count, MadtEntries(image).Count(e => e[0] == Madt.LocalApicType));
            Assert.True((ulong)image.Length <= GuestLayout.BiosEnd - GuestLayout.AcpiAddress);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true), property);
    }

    /// <summary>The table at guest address <paramref name="address"/>, checked for signature, length and checksum.</summary>
    private static Span<byte> Table(byte[] image, ulong address, string signature)
    {
        var at = checked((int)(address - Base));
        var length = BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(at + SdtHeader.Length));
        var table = image.AsSpan(at, length);
        Assert.Equal(signature, System.Text.Encoding.ASCII.GetString(table[..4]));
        Assert.Equal(0, Sum(table));
        return table;
    }

    private static List<byte[]> MadtEntries(byte[] image)
    {
        var xsdt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(Rsdp.XsdtAddress)), "XSDT");
        var madt = Table(image, BinaryPrimitives.ReadUInt64LittleEndian(xsdt[(SdtHeader.Size + 8)..]), "APIC").ToArray();
        var entries = new List<byte[]>();
        for (var at = Madt.FirstEntry; at < madt.Length; at += madt[at + 1])
        {
            Assert.True(madt[at + 1] >= 2, "a MADT entry with a length below 2 would loop forever");
            entries.Add(madt[at..(at + madt[at + 1])]);
        }

        return entries;
    }

    private static int Sum(ReadOnlySpan<byte> bytes)
    {
        var sum = 0;
        foreach (var b in bytes)
        {
            sum = (sum + b) & 0xff;
        }

        return sum;
    }
}
