using System.Text.Json;
using IoVirt.Testing;

namespace IoVirt.Tests.Suite;

/// <summary>The QAPI checker the descriptor tests rely on: it passes what conforms and names each break.</summary>
public sealed class QapiSchemaTests
{
    private const string Schema = """
        # A comment, and the shapes QEMU's vhost-user.json uses.
        { 'enum': 'Kind', 'data': [ 'disk', 'screen', { 'name': 'pad' } ] }
        { 'enum': 'ScreenFeature', 'data': [ 'big' ] }
        { 'struct': 'Screen', 'data': { 'features': [ 'ScreenFeature' ] } }
        {
          'union': 'Caps',
          'base': { 'type': 'Kind' },
          'discriminator': 'type',
          'data': { 'screen': 'Screen' }
        }
        { 'struct': 'Entry', 'data': { 'name': 'str', 'kind': 'Kind', '*tags': [ 'str' ], '*on': 'bool', '*n': 'int' } }
        """;

    private static readonly QapiSchema Parsed = QapiSchema.Parse(Schema);

    [Theory]
    [InlineData("""{ "name": "a", "kind": "disk" }""", "Entry")]
    [InlineData("""{ "name": "a", "kind": "pad", "tags": [ "x", "y" ], "on": true, "n": -3 }""", "Entry")]
    [InlineData("""{ "type": "disk" }""", "Caps")]
    [InlineData("""{ "type": "screen", "features": [ "big" ] }""", "Caps")]
    public void What_conforms_passes(string json, string type) =>
        Assert.Empty(Parsed.Validate(JsonDocument.Parse(json).RootElement, type));

    [Theory]
    [InlineData("""{ "kind": "disk" }""", "Entry", "$: Entry's member 'name' is missing")]
    [InlineData("""{ "name": "a", "kind": "disk", "extra": 1 }""", "Entry", "$: Entry has no member 'extra'")]
    [InlineData("""{ "name": "a", "kind": "tape" }""", "Entry", "$.kind: \"tape\" is not one of Kind's values (disk, screen, pad)")]
    [InlineData("""{ "name": "a", "kind": "disk", "tags": [ "x", 2 ] }""", "Entry", "$.tags[1]: a string expected")]
    [InlineData("""{ "name": "a", "kind": "disk", "tags": "x" }""", "Entry", "$.tags: an array expected")]
    [InlineData("""{ "name": "a", "kind": "disk", "n": 1.5 }""", "Entry", "$.n: an integer expected")]
    [InlineData("""{ "name": "a", "kind": "disk", "on": 1 }""", "Entry", "$.on: true or false expected")]
    [InlineData("""[ ]""", "Entry", "$: an object (Entry) expected")]
    [InlineData("""{ "type": "disk", "features": [] }""", "Caps", "$: Caps has no member 'features'")]
    [InlineData("""{ "type": "screen" }""", "Caps", "$: Caps's member 'features' is missing")]
    [InlineData("""{ "type": "screen", "features": [ "small" ] }""", "Caps", "$.features[0]: \"small\" is not one of ScreenFeature's values (big)")]
    public void Each_break_is_named(string json, string type, string error) =>
        Assert.Equal([error], Parsed.Validate(JsonDocument.Parse(json).RootElement, type));

    [Fact]
    public void A_branch_added_to_a_union_takes_its_members()
    {
        var amended = QapiSchema.Parse(Schema + "{ 'struct': 'Disk', 'data': { 'features': [ 'str' ] } }").WithUnionBranch("Caps", "disk", "Disk");
        Assert.Empty(amended.Validate(JsonDocument.Parse("""{ "type": "disk", "features": [ "ro" ] }""").RootElement, "Caps"));
        Assert.Equal(["$: Caps has no member 'features'"], Parsed.Validate(JsonDocument.Parse("""{ "type": "disk", "features": [ "ro" ] }""").RootElement, "Caps"));
    }

    [Theory]
    [InlineData("{ 'enum': 'A', 'data': [ 'x' ", "QAPI line 1: ']' expected")]
    [InlineData("{ 'enum': 'A' 'data': [] }", "QAPI line 1: ',' or '}' expected")]
    [InlineData("\n[ 'x' ]", "a QAPI schema holds only definitions ({ ... })")]
    [InlineData("{ 'enum': 'A', 'data': [ 'x' ] }\n{ 'x': nope }", "QAPI line 2: a value expected")]
    public void Text_that_is_not_QAPI_is_refused_with_its_line(string text, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => QapiSchema.Parse(text)).Message);
}
