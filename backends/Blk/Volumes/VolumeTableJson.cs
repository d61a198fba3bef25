using System.Text.Json.Serialization;

namespace IoVirt.Backends.Blk.Volumes;

/// <summary>The volume table's file format, generated at build time so a trimmed, AOT-compiled daemon reads it without reflection.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(List<BlockVolume>))]
internal sealed partial class VolumeTableJson : JsonSerializerContext;
