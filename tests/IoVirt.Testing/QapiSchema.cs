using System.Text.Json;

namespace IoVirt.Testing;

/// <summary>
/// A QAPI schema (the language of QEMU's docs/interop/*.json: Python-style literals with single
/// quotes and # comments) read far enough to check JSON documents against its enums, structs
/// and flat unions, with QAPI's rules: every member not marked optional ('*name') is present,
/// no member the type does not declare appears, and a union's members are its base's plus those
/// of the branch its discriminator selects (none for a value with no branch).
/// </summary>
public sealed class QapiSchema
{
    private readonly Dictionary<string, Dictionary<string, object>> _types;

    private QapiSchema(Dictionary<string, Dictionary<string, object>> types) => _types = types;

    public static QapiSchema Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>Reads every definition; <see cref="FormatException"/> where the text is not QAPI.</summary>
    public static QapiSchema Parse(string text)
    {
        var reader = new QapiReader(text);
        var types = new Dictionary<string, Dictionary<string, object>>(StringComparer.Ordinal);
        while (reader.SkipSpace())
        {
            if (reader.ReadValue() is not Dictionary<string, object> definition)
            {
                throw new FormatException("a QAPI schema holds only definitions ({ ... })");
            }

            var kind = new[] { "enum", "struct", "union" }.FirstOrDefault(definition.ContainsKey);
            if (kind is not null)
            {
                definition["kind"] = kind;
                types[(string)definition[kind]] = definition;
            }
        }

        return new QapiSchema(types);
    }

    /// <summary>The names an enum allows.</summary>
    public IReadOnlyList<string> EnumValues(string name) => [.. Members(Definition(name, "enum"))];

    /// <summary>
    /// A copy of this schema whose union <paramref name="union"/> selects struct
    /// <paramref name="branchType"/> for discriminator value <paramref name="value"/>.
    /// </summary>
    public QapiSchema WithUnionBranch(string union, string value, string branchType)
    {
        var definition = new Dictionary<string, object>(Definition(union, "union"), StringComparer.Ordinal);
        var branches = new Dictionary<string, object>((Dictionary<string, object>)definition["data"], StringComparer.Ordinal)
        {
            [value] = branchType,
        };
        definition["data"] = branches;
        Definition(branchType, "struct");
        return new QapiSchema(new Dictionary<string, Dictionary<string, object>>(_types, StringComparer.Ordinal) { [union] = definition });
    }

    /// <summary>Every way <paramref name="value"/> breaks type <paramref name="type"/>, each with its JSON path; empty when it conforms.</summary>
    public IReadOnlyList<string> Validate(JsonElement value, string type)
    {
        var errors = new List<string>();
        Check(value, type, "$", errors);
        return errors;
    }

    private void Check(JsonElement value, object type, string path, List<string> errors)
    {
        if (type is List<object> { Count: 1 } array)
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                errors.Add($"{path}: an array expected");
                return;
            }

            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                Check(item, array[0], $"{path}[{i++}]", errors);
            }

            return;
        }

        var name = type as string ?? throw new FormatException($"{path}: a type is a name or a one-element list");
        switch (name)
        {
            case "str":
                Expect(value.ValueKind == JsonValueKind.String, path, "a string", errors);
                return;
            case "bool":
                Expect(value.ValueKind is JsonValueKind.True or JsonValueKind.False, path, "true or false", errors);
                return;
            case "int" or "int8" or "int16" or "int32" or "int64" or "uint8" or "uint16" or "uint32" or "uint64" or "size":
                Expect(value.ValueKind == JsonValueKind.Number && (value.TryGetInt64(out _) || value.TryGetUInt64(out _)), path, "an integer", errors);
                return;
            case "number":
                Expect(value.ValueKind == JsonValueKind.Number, path, "a number", errors);
                return;
            case "any":
                return;
        }

        var definition = _types.TryGetValue(name, out var d) ? d : throw new FormatException($"the schema has no type {name}");
        switch ((string)definition["kind"])
        {
            case "enum":
                var allowed = Members(definition).ToList();
                if (value.ValueKind != JsonValueKind.String || !allowed.Contains(value.GetString()!))
                {
                    errors.Add($"{path}: {value.GetRawText()} is not one of {name}'s values ({string.Join(", ", allowed)})");
                }

                return;
            case "struct":
                CheckObject(value, ObjectMembers(definition), name, path, errors);
                return;
            default:
                CheckUnion(value, definition, name, path, errors);
                return;
        }
    }

    private void CheckUnion(JsonElement value, Dictionary<string, object> definition, string name, string path, List<string> errors)
    {
        var members = BaseMembers(definition["base"]);
        var discriminator = (string)definition["discriminator"];
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty(discriminator, out var tag) && tag.ValueKind == JsonValueKind.String
            && ((Dictionary<string, object>)definition["data"]).TryGetValue(tag.GetString()!, out var branch))
        {
            var branchType = branch is Dictionary<string, object> wrapped ? wrapped["type"] : branch;
            foreach (var member in ObjectMembers(Definition((string)branchType, "struct")))
            {
                members.Add(member.Key, member.Value);
            }
        }

        CheckObject(value, members, name, path, errors);
    }

    private void CheckObject(JsonElement value, Dictionary<string, (object Type, bool Optional)> members, string name, string path, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: an object ({name}) expected");
            return;
        }

        foreach (var property in value.EnumerateObject())
        {
            if (members.TryGetValue(property.Name, out var member))
            {
                Check(property.Value, member.Type, $"{path}.{property.Name}", errors);
            }
            else
            {
                errors.Add($"{path}: {name} has no member '{property.Name}'");
            }
        }

        foreach (var member in members.Where(m => !m.Value.Optional && !value.TryGetProperty(m.Key, out _)))
        {
            errors.Add($"{path}: {name}'s member '{member.Key}' is missing");
        }
    }

    /// <summary>A struct's members, its base's first; each name without its '*', with whether it was optional.</summary>
    private Dictionary<string, (object Type, bool Optional)> ObjectMembers(Dictionary<string, object> definition)
    {
        var members = definition.TryGetValue("base", out var baseType) ? BaseMembers(baseType) : new(StringComparer.Ordinal);
        foreach (var (key, type) in (Dictionary<string, object>)definition["data"])
        {
            var optional = key.StartsWith('*');
            members.Add(optional ? key[1..] : key, (type is Dictionary<string, object> wrapped ? wrapped["type"] : type, optional));
        }

        return members;
    }

    private Dictionary<string, (object Type, bool Optional)> BaseMembers(object baseType) =>
        baseType is string named
            ? ObjectMembers(Definition(named, "struct"))
            : ObjectMembers(new Dictionary<string, object>(StringComparer.Ordinal) { ["data"] = baseType });

    private static IEnumerable<string> Members(Dictionary<string, object> enumDefinition) =>
        ((List<object>)enumDefinition["data"]).Select(v => v is Dictionary<string, object> named ? (string)named["name"] : (string)v);

    private Dictionary<string, object> Definition(string name, string kind) =>
        _types.TryGetValue(name, out var definition) && (string)definition["kind"] == kind
            ? definition
            : throw new FormatException($"the schema has no {kind} {name}");

    private static void Expect(bool holds, string path, string what, List<string> errors)
    {
        if (!holds)
        {
            errors.Add($"{path}: {what} expected");
        }
    }
}
