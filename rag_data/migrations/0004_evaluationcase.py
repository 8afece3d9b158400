"""EvaluationCase: reviewed feedback promoted into an evaluation set (`manage.py evaluate --from-feedback`).

A new table only; nothing existing is rewritten.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rag_data', '0003_chunk_search_vector'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='EvaluationCase',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('set_name', models.CharField(db_index=True, default='feedback', max_length=64, validators=[django.core.validators.RegexValidator('^[A-Za-z0-9][A-Za-z0-9._-]*$', "Use letters, digits, '.', '_' or '-', starting with a letter or digit.")])),
                ('query_text', models.TextField()),
                ('relevant_chunk_ids', models.JSONField(blank=True, default=list)),
                ('relevant_document_ids', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('feedback', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='evaluation_cases', to='rag_data.feedback')),
            ],
            options={
                'ordering': ['set_name', '-created_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(('query_text', ''), _negated=True), name='rag_evalcase_query_not_empty'), models.CheckConstraint(condition=models.Q(('set_name__regex', '^[A-Za-z0-9][A-Za-z0-9._-]*$')), name='rag_evalcase_set_name_format'), models.UniqueConstraint(condition=models.Q(('feedback__isnull', False)), fields=('set_name', 'feedback'), name='rag_evalcase_set_feedback_unique')],
            },
        ),
    ]
