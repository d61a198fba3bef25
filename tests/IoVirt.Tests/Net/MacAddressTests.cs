using FsCheck;
using FsCheck.Fluent;
using IoVirt.Backends.Net;

namespace IoVirt.Tests.Net;

public class MacAddressTests
{
    private static readonly Arbitrary<byte[]> SixBytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), MacAddress.Length).ToArbitrary();

    [Fact]
    public void Any_six_bytes_survive_reading_writing_formatting_and_parsing() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000).WithQuietOnSuccess(true), Prop.ForAll(SixBytes, bytes =>
        {
            var address = MacAddress.Read(bytes);
            var written = new byte[MacAddress.Length];
            address.WriteTo(written);
            Assert.Equal(bytes, written);

            var text = address.ToString();
            Assert.Equal(string.Join(':', bytes.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))), text);
            Assert.True(MacAddress.TryParse(text.ToUpperInvariant(), out var parsed));
            Assert.Equal(address, parsed);
            Assert.Equal((bytes[0] & 1) != 0, address.IsMulticast);
            Assert.Equal((bytes[0] & 1) == 0, MacAddress.TryParseUnicast(text, out _));
        }));

    [Fact]
    public void Addresses_that_differ_in_any_byte_differ() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000).WithQuietOnSuccess(true), Prop.ForAll(SixBytes, Gen.Choose(0, 5).ToArbitrary(), (bytes, index) =>
        {
            var other = (byte[])bytes.Clone();
            other[index] ^= 0x80;
            Assert.NotEqual(MacAddress.Read(bytes), MacAddress.Read(other));
            Assert.Equal(MacAddress.Read(bytes), MacAddress.Read([.. bytes, 0xee, 0xff]));
        }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("52:54:00:12:34")]
    [InlineData("52:54:00:12:34:56:78")]
    [InlineData("52-54-00-12-34-56")]
    [InlineData("52:54:00:12:34:5g")]
    [InlineData("5:254:00:12:34:56")]
    [InlineData(" 52:54:00:12:34:5")]
    public void Text_that_is_not_six_colon_separated_hex_bytes_is_refused(string? text) =>
        Assert.False(MacAddress.TryParse(text, out _));

    [Fact]
    public void Broadcast_is_all_ones_and_multicast()
    {
        Assert.True(MacAddress.TryParse("ff:ff:ff:ff:ff:ff", out var parsed));
        Assert.Equal(MacAddress.Broadcast, parsed);
        Assert.True(parsed.IsBroadcast);
        Assert.True(parsed.IsMulticast);
        Assert.False(MacAddress.TryParseUnicast("01:00:5e:00:00:01", out _));
    }
}
