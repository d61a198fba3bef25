using System.Buffers.Binary;
using System.Diagnostics;
using IoVirt.Abi.Acpi;
using IoVirt.Machine;

namespace IoVirt.Tests.Integration;

/// <summary>
/// ACPICA's disassembler (iasl, Debian's acpica-tools: the same code as Linux's ACPI) reads
/// every table the VMM gives a guest, without errors, and finds what we meant to say.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class AcpiDisassemblyTests
{
    [Fact]
    public void Iasl_reads_the_tables_and_the_devices_in_the_dsdt()
    {
        var image = AcpiTables.Build(GuestLayout.AcpiAddress, 2, [Serial8250.AcpiDevice("COM1", Serial8250.Com1Port, Serial8250.Com1Irq)]);
        var xsdt = Offset(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(Rsdp.XsdtAddress)));
        var fadt = Offset(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(xsdt + SdtHeader.Size)));
        var madt = Offset(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(xsdt + SdtHeader.Size + 8)));
        var dsdt = Offset(BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(fadt + Fadt.XDsdt)));

        var dsl = Disassemble(image, dsdt);
        Assert.Contains("Name (_S5, Package (0x04)", dsl);
        Assert.Contains("Device (COM1)", dsl);
        Assert.Contains("EisaId (\"PNP0501\")", dsl);
        Assert.Contains("IO (Decode16,", dsl);
        Assert.Contains("0x03F8,             // Range Minimum", dsl);
        Assert.Contains("IRQNoFlags ()", dsl);
        Assert.Contains("{4}", dsl);

        var fadtText = Disassemble(image, fadt);
        Assert.Contains("Hardware Reduced (V5) : 1", fadtText);
        Assert.Contains("Reset Register Supported (V2) : 1", fadtText);

        var madtText = Disassemble(image, madt);
        Assert.Equal(2, madtText.Split("Subtable Type : 00 [Processor Local APIC]").Length - 1);
        Assert.Contains("Subtable Type : 01 [I/O APIC]", madtText);
        Assert.Contains("Subtable Type : 02 [Interrupt Source Override]", madtText);
    }

    private static int Offset(ulong address) => checked((int)(address - GuestLayout.AcpiAddress));

    /// <summary>Runs iasl -d on the table at <paramref name="offset"/>; fails on any error or warning it reports.</summary>
    private static string Disassemble(byte[] image, int offset)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(offset + SdtHeader.Length));
        var directory = Directory.CreateTempSubdirectory("iovirt-acpi-");
        try
        {
            var table = Path.Combine(directory.FullName, "table.aml");
            File.WriteAllBytes(table, image.AsSpan(offset, length).ToArray());
            var start = new ProcessStartInfo("iasl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory.FullName };
            start.ArgumentList.Add("-d");
            start.ArgumentList.Add(table);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("iasl did not start (tests/setup.sh installs acpica-tools)");
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"iasl -d failed: {output}{errors.Result}");
            Assert.DoesNotContain("Error", output + errors.Result, StringComparison.Ordinal);
            return File.ReadAllText(Path.Combine(directory.FullName, "table.dsl"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
