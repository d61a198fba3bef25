using IoVirt.Machine;

namespace IoVirt.Tests.Machine;

/// <summary>AML encodings against the examples of ACPI 6.5 chapter 20 (iasl checks whole tables: AcpiDisassemblyTests).</summary>
public sealed class AmlTests
{
    [Fact]
    public void Eisa_id_compresses_as_the_spec_shows() =>
        Assert.Equal([0x0c, 0x41, 0xd0, 0x0a, 0x03], Aml.EisaId("PNP0A03"));

    [Theory]
    [InlineData(0UL, new byte[] { 0x00 })]
    [InlineData(1UL, new byte[] { 0x01 })]
    [InlineData(5UL, new byte[] { 0x0a, 0x05 })]
    [InlineData(0x3f8UL, new byte[] { 0x0b, 0xf8, 0x03 })]
    [InlineData(0xfec0_0000UL, new byte[] { 0x0c, 0x00, 0x00, 0xc0, 0xfe })]
    [InlineData(0x1_0000_0000UL, new byte[] { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 })]
    public void Integers_take_their_shortest_form(ulong value, byte[] expected) => Assert.Equal(expected, Aml.Integer(value));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(57, 1)]
    [InlineData(62, 2)]
    [InlineData(4000, 2)]
    [InlineData(4093, 3)]
    [InlineData(70_000, 3)]
    public void Package_lengths_count_their_own_bytes(int bodyBytes, int lengthBytes)
    {
        // A scope's content is its 4-byte name plus the body: here a string of the right size.
        var body = bodyBytes < 2 ? [] : Aml.String(new string('x', bodyBytes - 2));
        var scope = Aml.Scope("ABCD", body);
        var lead = scope[1];
        Assert.Equal(lengthBytes - 1, lead >> 6);
        var encoded = lengthBytes == 1 ? lead & 0x3f : lead & 0xf;
        for (var i = 1; i < lengthBytes; i++)
        {
            encoded |= scope[1 + i] << (4 + (8 * (i - 1)));
        }

        Assert.Equal(scope.Length - 1, encoded);
    }

    [Fact]
    public void Resource_templates_end_with_an_end_tag()
    {
        var template = Aml.ResourceTemplate(Aml.IoPorts(0x3f8, 8), Aml.Irq(4));
        Assert.Equal([0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00], template[^13..]);
    }

    [Theory]
    [InlineData("TOOLONG")]
    [InlineData("1ABC")]
    [InlineData("ab")]
    [InlineData("")]
    public void Bad_names_are_refused(string name) => Assert.Throws<ArgumentException>(() => Aml.Device(name));
}
