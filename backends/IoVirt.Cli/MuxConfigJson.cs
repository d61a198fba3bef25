using System.Text.Json;
using System.Text.Json.Serialization;

namespace IoVirt.Cli;

/// <summary>
/// The mux config file's JSON binding, generated at build time (no reflection, so the trimmed
/// AOT binary reads it too): camelCase names, comments allowed, and an unknown field is an error.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(MuxConfig))]
internal sealed partial class MuxConfigJson : JsonSerializerContext;
