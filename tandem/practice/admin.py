from django.contrib import admin

from tandem.practice.models import Location, Practice, Room


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "email"]
    inlines = [LocationInline]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "practice"]
    list_filter = ["practice"]
    search_fields = ["name"]
    inlines = [RoomInline]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "accessible", "capacity", "active"]
    list_filter = ["location", "accessible", "active"]
    search_fields = ["name", "location__name"]
