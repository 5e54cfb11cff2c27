// The platform's JSON and the API's messages, both ways, by descriptor: what protojson would do if
// the platform spelled enums with their proto prefix and JSON names as the protos declare them.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// decode unwraps the envelope and fills the response message (or its response_body field).
func (g *gateway) decode(r *route, answer []byte) (proto.Message, error) {
	decoder := json.NewDecoder(bytes.NewReader(answer))
	decoder.UseNumber()
	var document interface{}
	if err := decoder.Decode(&document); err != nil {
		return nil, status.Errorf(codes.Internal, "platform answer is not JSON: %v", err)
	}
	payload := document
	if r.envelope == "ENVELOPE_HEADLESS" || r.envelope == "ENVELOPE_HYBRID" {
		object, _ := document.(map[string]interface{})
		payload = object["data"]
	}
	out := dynamicpb.NewMessage(r.out)
	target := out.ProtoReflect()
	if r.responseBody != "" {
		fd := r.out.Fields().ByName(protoreflect.Name(r.responseBody))
		if err := g.fill(target, fd, payload); err != nil {
			return nil, status.Errorf(codes.Internal, "platform answer: %v", err)
		}
		return out, nil
	}
	if err := g.fillMessage(target, payload); err != nil {
		return nil, status.Errorf(codes.Internal, "platform answer: %v", err)
	}
	return out, nil
}

func (g *gateway) fillMessage(m protoreflect.Message, value interface{}) error {
	object, ok := value.(map[string]interface{})
	if !ok {
		return fmt.Errorf("%s: want an object", m.Descriptor().FullName())
	}
	if wellKnown(m.Descriptor()) {
		return setWellKnown(m, value)
	}
	fields := m.Descriptor().Fields()
	for key, item := range object {
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(key))
		}
		if fd == nil || item == nil {
			continue // unknown or null: left unset
		}
		if err := g.fill(m, fd, item); err != nil {
			return err
		}
	}
	return nil
}

func (g *gateway) fill(m protoreflect.Message, fd protoreflect.FieldDescriptor, value interface{}) error {
	switch {
	case fd.IsList():
		items, ok := value.([]interface{})
		if !ok {
			return fmt.Errorf("%s: want an array", fd.FullName())
		}
		list := m.Mutable(fd).List()
		for _, item := range items {
			if fd.Message() != nil {
				element := list.NewElement()
				if err := g.fillMessage(element.Message(), item); err != nil {
					return err
				}
				list.Append(element)
				continue
			}
			scalar, err := g.scalar(fd, item)
			if err != nil {
				return err
			}
			list.Append(scalar)
		}
	case fd.IsMap():
		object, ok := value.(map[string]interface{})
		if !ok {
			return fmt.Errorf("%s: want an object", fd.FullName())
		}
		entries := m.Mutable(fd).Map()
		for key, item := range object {
			mapKey := protoreflect.ValueOfString(key).MapKey()
			if fd.MapValue().Message() != nil {
				element := entries.NewValue()
				if err := g.fillMessage(element.Message(), item); err != nil {
					return err
				}
				entries.Set(mapKey, element)
				continue
			}
			scalar, err := g.scalar(fd.MapValue(), item)
			if err != nil {
				return err
			}
			entries.Set(mapKey, scalar)
		}
	case fd.Message() != nil:
		if wellKnown(fd.Message()) {
			return setWellKnown(m.Mutable(fd).Message(), value)
		}
		return g.fillMessage(m.Mutable(fd).Message(), value)
	default:
		scalar, err := g.scalar(fd, value)
		if err != nil {
			return err
		}
		m.Set(fd, scalar)
	}
	return nil
}

func wellKnown(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue":
		return true
	}
	return false
}

// setWellKnown fills a Struct, Value or ListValue (dynamic here) through its generated twin.
func setWellKnown(m protoreflect.Message, value interface{}) error {
	if number, ok := value.(json.Number); ok {
		value, _ = number.Float64()
	}
	generated, err := structpb.NewValue(value)
	if err != nil {
		return err
	}
	var source proto.Message = generated
	switch m.Descriptor().FullName() {
	case "google.protobuf.Struct":
		source = generated.GetStructValue()
	case "google.protobuf.ListValue":
		source = generated.GetListValue()
	}
	raw, err := proto.Marshal(source)
	if err != nil {
		return err
	}
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(raw, m.Interface())
}

func (g *gateway) scalar(fd protoreflect.FieldDescriptor, value interface{}) (protoreflect.Value, error) {
	bad := fmt.Errorf("%s: unexpected %T", fd.FullName(), value)
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s, ok := value.(string); ok {
			return protoreflect.ValueOfString(s), nil
		}
	case protoreflect.BoolKind:
		if b, ok := value.(bool); ok {
			return protoreflect.ValueOfBool(b), nil
		}
	case protoreflect.EnumKind:
		if s, ok := value.(string); ok {
			return protoreflect.ValueOfEnum(g.enumNumbers(fd.Enum())[s]), nil
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, ok := value.(json.Number); ok {
			i, err := n.Int64()
			return protoreflect.ValueOfInt32(int32(i)), err
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, ok := value.(json.Number); ok {
			i, err := n.Int64()
			return protoreflect.ValueOfInt64(i), err
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if n, ok := value.(json.Number); ok {
			i, err := n.Int64()
			if fd.Kind() == protoreflect.Uint32Kind || fd.Kind() == protoreflect.Fixed32Kind {
				return protoreflect.ValueOfUint32(uint32(i)), err
			}
			return protoreflect.ValueOfUint64(uint64(i)), err
		}
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		if n, ok := value.(json.Number); ok {
			f, err := n.Float64()
			if fd.Kind() == protoreflect.FloatKind {
				return protoreflect.ValueOfFloat32(float32(f)), err
			}
			return protoreflect.ValueOfFloat64(f), err
		}
	}
	return protoreflect.Value{}, bad
}

// enumNumbers maps the platform's spellings of an enum's values to their numbers.
func (g *gateway) enumNumbers(ed protoreflect.EnumDescriptor) map[string]protoreflect.EnumNumber {
	if cached, ok := g.enums.Load(ed); ok {
		return cached.(map[string]protoreflect.EnumNumber)
	}
	numbers := map[string]protoreflect.EnumNumber{}
	names := map[protoreflect.EnumNumber]string{}
	for i := 0; i < ed.Values().Len(); i++ {
		vd := ed.Values().Get(i)
		wire := string(vd.Name())
		if i > 0 {
			wire = strings.TrimPrefix(wire, prefixOf(ed))
		}
		if vo := g.opts.get(vd.Options(), "aarthik.gateway.v1.enum_value"); vo != nil && field(vo, "wire_value").String() != "" {
			wire = field(vo, "wire_value").String()
		}
		numbers[wire], names[vd.Number()] = vd.Number(), wire
	}
	g.enums.Store(ed, numbers)
	g.names.Store(ed, names)
	return numbers
}

// prefixOf is the enum's value prefix: its name in upper snake case and an underscore.
func prefixOf(ed protoreflect.EnumDescriptor) string {
	var out strings.Builder
	for i, c := range string(ed.Name()) {
		if c >= 'A' && c <= 'Z' && i > 0 {
			out.WriteByte('_')
		}
		out.WriteRune(c)
	}
	return strings.ToUpper(out.String()) + "_"
}

func (g *gateway) scalarText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if fd.Kind() == protoreflect.EnumKind {
		g.enumNumbers(fd.Enum())
		names, _ := g.names.Load(fd.Enum())
		return names.(map[protoreflect.EnumNumber]string)[v.Enum()]
	}
	return v.String()
}

// toJSON renders a request message as the platform's JSON, leaving out `skip` fields.
func (g *gateway) toJSON(m protoreflect.Message, skip map[string]bool) map[string]interface{} {
	object := map[string]interface{}{}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if skip[string(fd.Name())] {
			return true
		}
		object[fd.JSONName()] = g.valueJSON(fd, v)
		return true
	})
	return object
}

func (g *gateway) valueJSON(fd protoreflect.FieldDescriptor, v protoreflect.Value) interface{} {
	switch {
	case fd.IsList():
		items := []interface{}{}
		for i := 0; i < v.List().Len(); i++ {
			items = append(items, g.elementJSON(fd, v.List().Get(i)))
		}
		return items
	case fd.IsMap():
		object := map[string]interface{}{}
		v.Map().Range(func(k protoreflect.MapKey, item protoreflect.Value) bool {
			object[k.String()] = g.elementJSON(fd.MapValue(), item)
			return true
		})
		return object
	}
	return g.elementJSON(fd, v)
}

func (g *gateway) elementJSON(fd protoreflect.FieldDescriptor, v protoreflect.Value) interface{} {
	if fd.Message() != nil {
		if wellKnown(fd.Message()) {
			raw, _ := proto.Marshal(v.Message().Interface())
			generated := &structpb.Value{}
			switch fd.Message().FullName() {
			case "google.protobuf.Struct":
				s := &structpb.Struct{}
				proto.Unmarshal(raw, s)
				return s.AsMap()
			case "google.protobuf.ListValue":
				l := &structpb.ListValue{}
				proto.Unmarshal(raw, l)
				return l.AsSlice()
			}
			proto.Unmarshal(raw, generated)
			return generated.AsInterface()
		}
		return g.toJSON(v.Message(), nil)
	}
	if fd.Kind() == protoreflect.EnumKind {
		return g.scalarText(fd, v)
	}
	return v.Interface()
}
