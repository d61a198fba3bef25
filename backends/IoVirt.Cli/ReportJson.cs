using System.Text.Json;
using System.Text.Json.Serialization;
using IoVirt.Backends.Mux;
using IoVirt.Backends.Net;

namespace IoVirt.Cli;

/// <summary>The daemons' one-line JSON reports (camelCase), generated at build time so the AOT binary needs no reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BlkReport))]
[JsonSerializable(typeof(NetTotals))]
[JsonSerializable(typeof(RngReport))]
[JsonSerializable(typeof(GpuReport))]
[JsonSerializable(typeof(GpuShareReport))]
[JsonSerializable(typeof(MuxReport))]
internal sealed partial class ReportJson : JsonSerializerContext;
