"""Labels of domain values as the bureau's documents print them (annexes, letters)."""

ACTIVITY_KIND_LABELS = {
    "routine_inspection": "日常检查", "special_inspection": "专项检查", "flight_inspection": "飞行检查",
    "project_review": "项目评审", "consultation": "咨询论证",
}
